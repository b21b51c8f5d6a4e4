#!/usr/bin/env bash
# Runs every vsnd test: the one command the README gives for it, and what CI
# runs. Installs missing dependencies, then:
#   1. gcc, -Werror: build, unit tests and the end-to-end guest tests;
#   2. clang, -Werror: build and unit tests;
#   3. gcc with ASan + UBSan: unit tests.
# Exits non-zero if any build or test fails.
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
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
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

stage "gcc -Werror: build, unit and end-to-end tests"
CC=gcc build build-test -Dwerror=true -De2e=$e2e
meson test -C build-test --print-errorlogs --num-processes 2

[ "$quick" = 1 ] && exit 0

stage "clang -Werror: build and unit tests"
CC=clang build build-clang -Dwerror=true -De2e=disabled
meson test -C build-clang --print-errorlogs --suite unit --num-processes 2

stage "ASan + UBSan: unit tests"
CC=gcc build build-asan -Dwerror=true -De2e=disabled -Db_sanitize=address,undefined \
  -Db_lundef=false -Dbuildtype=debug
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  meson test -C build-asan --print-errorlogs --suite unit --num-processes 2

stage "all tests passed"
