#!/usr/bin/env bash
# The newcomer's demo, start to finish:
#   1. installs what is missing (scripts/install-deps.sh, needs root or sudo),
#   2. builds vsnd (meson setup build, meson compile -C build),
#   3. builds the test guest if needed (scripts/guest/build-guest.sh, cached in
#      ~/.cache/vsnd-guest),
#   4. in ./demo-out: makes a 660 Hz tone vsnd-in-1.wav with sox, starts build/vsnd
#      with NO --backend (its embedded default: the file backend in the current
#      directory), boots the guest, which plays its own 12 s 440 Hz tone and records 3 s,
#   5. prints where the WAV files are and what it measured: frames lost between the
#      guest's tone and vsnd's vsnd-out-0.wav, whether the recording is vsnd-in-1.wav
#      bit for bit, and aplay's wall time against the tone's duration.
# Exits non-zero if anything failed. VSND_DEMO_DIR overrides ./demo-out.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
DEMO_DIR=${VSND_DEMO_DIR:-$ROOT/demo-out}
BUILD=${VSND_BUILD_DIR:-$ROOT/build}

say() { printf '\n== %s\n' "$*"; }

deps_ok() {
  local t
  for t in meson ninja cc python3 sox aplay busybox cpio apt-get qemu-system-x86_64; do
    command -v "$t" >/dev/null || return 1
  done
  qemu-system-x86_64 -device help 2>/dev/null | grep '"vhost-user-snd-pci"' >/dev/null || return 1
  pkg-config --exists sndfile samplerate cmocka 2>/dev/null || return 1
}

say "dependencies"
if deps_ok; then
  echo "all present"
else
  "$ROOT/scripts/install-deps.sh"
fi

say "build"
if [ ! -f "$BUILD/build.ninja" ]; then
  meson setup "$BUILD"
fi
meson compile -C "$BUILD"
[ -x "$BUILD/vsnd" ] || { echo "demo: $BUILD/vsnd was not built" >&2; exit 1; }

say "guest image"
"$ROOT/scripts/guest/build-guest.sh"

say "demo in $DEMO_DIR"
mkdir -p "$DEMO_DIR"
# What vsnd's default file backend will give the guest's capture stream (stream 1):
# a 4 s 660 Hz tone in the format the guest records (S16_LE, 48 kHz, stereo).
sox -R -D -n -r 48000 -c 2 -b 16 -e signed-integer "$DEMO_DIR/vsnd-in-1.wav" \
  synth 4 sine 660 gain -6
python3 "$ROOT/tests/e2e/vsnd_e2e.py" demo --vsnd "$BUILD/vsnd" --workdir "$DEMO_DIR"
