#!/usr/bin/env bash
# vsnd benchmarks: builds build-bench (meson, release), runs every measurement
# and writes bench/results.md and the PNG plots (gnuplot).
#   bench/run.sh            the full run (about 57 minutes, 10 of them the drift
#                           run; boots the test guest; the first run installs
#                           QEMU's audio modules, for its PulseAudio audiodev)
#   bench/run.sh --smoke    one cheap measurement (1 stream, no VM), report in
#                           build-bench/bench-smoke/, under 2 minutes
# Other arguments go to bench/bench.py (e.g. --noisy, --runs 5, --only scale).
# Not part of scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

smoke=0
args=()
for a in "$@"; do
  case "$a" in
    --smoke) smoke=1 ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) args+=("$a") ;;
  esac
done

need() { command -v "$1" >/dev/null 2>&1; }
if ! need gnuplot || ! need sox; then
  echo "bench: installing gnuplot-nox and the test tools (scripts/install-deps.sh)"
  scripts/install-deps.sh
fi
# The round trip's reference: QEMU's built-in device on its own PulseAudio
# audiodev, a module of qemu-system-gui (not needed for the smoke).
if [ $smoke = 0 ] && ! qemu-system-x86_64 -audiodev help 2>/dev/null | grep -x pa >/dev/null; then
  echo "bench: installing QEMU's audio modules (scripts/install-deps.sh --bench)"
  scripts/install-deps.sh --bench
fi

if [ ! -d build-bench ]; then
  meson setup build-bench --buildtype=release
fi
ninja -C build-bench -j2 vsnd src/drive/vsnd-drive src/ctl/vsnd-ctl bench/vsnd-bench-floor \
  bench/vsnd-bench-density

if [ $smoke = 1 ]; then
  out=build-bench/bench-smoke
  rm -rf "$out"
  mkdir -p "$out"
  timeout 120 python3 bench/bench.py --smoke --out "$out" "${args[@]}"
  grep -q '^| 1 |' "$out/results.md" || { echo "bench: smoke report has no result" >&2; exit 1; }
  echo "bench: smoke report $out/results.md"
  exit 0
fi
python3 bench/bench.py "${args[@]}"
