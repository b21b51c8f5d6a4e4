#!/usr/bin/env bash
# Build the libFuzzer targets (clang, ASan + UBSan, every library
# coverage-instrumented) in build-fuzz/ and run each for SECONDS (default 60)
# from its seed corpus in tests/fuzz/corpus/<target>. Fails on any crash,
# leak, timeout or sanitizer report; the reproducer is left in
# build-fuzz/findings/<target>/ (add it to the corpus as a regression seed).
# New inputs the fuzzer finds go to build-fuzz/corpus-work/, not the repo.
# Usage: tests/fuzz/run.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/../.."

secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_ctl fuzz_io fuzz_virtq fuzz_vhu)
dir=build-fuzz
opts=(-Dfuzzing=true -Dwerror=true -De2e=disabled -Db_sanitize=address,undefined
      -Db_lundef=false -Dbuildtype=debugoptimized -Dc_args=-fsanitize=fuzzer-no-link)

if [ -d "$dir" ]; then
  CC=clang meson setup --reconfigure "$dir" "${opts[@]}" >/dev/null
else
  CC=clang meson setup "$dir" "${opts[@]}" >/dev/null
fi
meson compile -C "$dir" "${targets[@]/#/tests/fuzz/}"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allocator_may_return_null=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
status=0
for t in "${targets[@]}"; do
  work="$dir/corpus-work/$t" found="$dir/findings/$t"
  mkdir -p "$work" "$found"
  log="$dir/fuzz-$t.log"
  printf '=== %s: %ss ===\n' "$t" "$secs"
  # First replay every committed seed (the regression tests), then fuzz.
  if ! "$dir/tests/fuzz/$t" -runs=0 tests/fuzz/corpus/"$t" >"$log.seeds" 2>&1; then
    echo "$t: a committed seed fails:"; tail -n 40 "$log.seeds"; status=1; continue
  fi
  if "$dir/tests/fuzz/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
      -max_len=8192 -print_final_stats=1 -artifact_prefix="$found/" \
      "$work" tests/fuzz/corpus/"$t" >"$log" 2>&1; then
    grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$log" | tr '\n' ' '
    echo
    grep -E '#[0-9]+ *DONE' "$log" | tail -n 1 || true
  else
    echo "$t: FAILED (reproducer in $found/)"; tail -n 60 "$log"; status=1
  fi
done
exit $status
