#!/usr/bin/env bash
# Runs every vsnd test: the one command the README gives for it, and what CI
# runs. Installs missing dependencies, then:
#   1. gcc, -Werror: build, every suite: unit, integration and servers
#      tests, libvsnd's ABI checks (exports, headers, abidiff), the install
#      tests (meson install into a temporary DESTDIR, the installed vsnd also
#      against the guest), the end-to-end guest tests, and semu with libvsnd
#      booting its RV32 Linux;
#   2. clang, -Werror: build, unit, integration and servers tests;
#   3. gcc with ASan + UBSan: the same tests;
#   4. clang with TSan: the tests that run threads;
#   5. the end-to-end guest tests (file suite, driver reloads) against the
#      ASan + UBSan daemon;
#   6. every libFuzzer target for VSND_FUZZ_SECONDS (default 60) each.
# Exits non-zero if any build or test fails.
# Stages 2 and 3 leave out suite timing (wall-clock limits: stage 1 has them).
# The suites are described in tests/meson.build.
# Options: --quick  only stage 1 without the guest tests
#          --no-e2e skip the guest tests
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
e2e=enabled
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1; e2e=disabled ;;
    --no-e2e) e2e=disabled ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "test.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

./scripts/install-deps.sh

stage() { printf '\n=== %s ===\n' "$*"; }

# A build directory per configuration; reconfigured each run so options
# always match what is asked.
build() {
  local dir=$1; shift
  if [ -d "$dir" ]; then
    meson setup --reconfigure "$dir" "$@" >/dev/null
  else
    meson setup "$dir" "$@" >/dev/null
  fi
  meson compile -C "$dir"
}

# What stages 2 and 3 run: no guest, no ABI or install checks.
no_guest=(--suite unit --suite integration --suite servers --no-suite timing)

stage "gcc -Werror: build, every suite"
CC=gcc build build-test -Dwerror=true -De2e=$e2e
meson test -C build-test --print-errorlogs --num-processes 2

[ "$quick" = 1 ] && exit 0

stage "clang -Werror: build, unit, integration and servers tests"
CC=clang build build-clang -Dwerror=true -De2e=disabled
meson test -C build-clang --print-errorlogs "${no_guest[@]}" --num-processes 2

stage "ASan + UBSan: unit, integration and servers tests"
CC=gcc build build-asan -Dwerror=true -De2e=disabled -Db_sanitize=address,undefined \
  -Db_lundef=false -Dbuildtype=debug
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  meson test -C build-asan --print-errorlogs "${no_guest[@]}" --num-processes 2

stage "TSan: tests with threads (device, backend real-time threads, daemon loop, daemon)"
CC=clang build build-tsan -Dwerror=true -De2e=disabled -Db_sanitize=thread -Db_lundef=false \
  -Dbuildtype=debug
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
  meson test -C build-tsan --print-errorlogs --num-processes 2 \
  vhost_user vsnd_daemon vsnd_cli backends_clock backends_file backends_loopback \
  backends_rt_threads core_stack core_audio vsnd_intercept util_ring

if [ "$e2e" = enabled ]; then
  stage "ASan + UBSan daemon: end-to-end guest tests (file suite, driver reloads)"
  # The daemon must exit 0 on SIGTERM (the harness checks it): a leak makes
  # it exit 86, any other report aborts it. Its log is grepped as well.
  rm -rf build-asan/e2e
  ASAN_OPTIONS=detect_leaks=1:exitcode=86:abort_on_error=1 \
  UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1 \
    python3 tests/e2e/vsnd_e2e.py --vsnd build-asan/vsnd --require --workdir "$PWD/build-asan/e2e" file
  # Driver reloads reset the device 20 times with streams open: the paths
  # where held buffers and mappings are dropped. ASan's quarantine keeps
  # freed memory resident, so its leak check stands in for the RSS rows.
  ASAN_OPTIONS=detect_leaks=1:exitcode=86:abort_on_error=1 \
  UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1 \
    python3 tests/e2e/vsnd_faults.py --vsnd build-asan/vsnd --require --no-rss \
      --workdir "$PWD/build-asan/e2e" reload
  if grep -rlE 'ERROR: (Address|Leak)Sanitizer|runtime error:' build-asan/e2e --include=vsnd.log; then
    echo "sanitizer report in the daemon's log" >&2
    exit 1
  fi
fi

stage "libFuzzer: every target for ${VSND_FUZZ_SECONDS:-60} s (VSND_FUZZ_SECONDS)"
tests/fuzz/run.sh "${VSND_FUZZ_SECONDS:-60}"

# One closing line a CI can read: every meson test run above, counted.
python3 - build-test build-clang build-asan build-tsan <<'PY'
import json, sys, pathlib
ok = bad = skip = 0
for d in sys.argv[1:]:
    p = pathlib.Path(d) / 'meson-logs' / 'testlog.json'
    if not p.exists():
        continue
    for line in p.read_text().splitlines():
        r = json.loads(line).get('result')
        if r in ('OK', 'EXPECTEDFAIL'):
            ok += 1
        elif r == 'SKIP':
            skip += 1
        else:
            bad += 1
print(f'summary: {ok} passed, {bad} failed, {skip} skipped')
PY
stage "all tests passed"
