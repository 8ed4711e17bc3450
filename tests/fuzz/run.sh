#!/bin/sh
# Runs libFuzzer targets: tests/fuzz/run.sh BUILD_DIR SECONDS [TARGET...] (default: all built).
# Each target grows its corpus in BUILD_DIR/corpus/<target> from the committed seeds in
# tests/fuzz/corpus/<target>; a crash, leak, UB, timeout or memory blow-up stops with the input
# saved as BUILD_DIR/artifacts/<target>-*, and this script fails.
set -u
fb=$1 secs=$2
shift 2
targets=${*:-$(cd "$fb" && ls fuzz_* 2>/dev/null | grep -v '\.')}
cd "$(dirname "$0")/../.." || exit 2
mkdir -p "$fb/artifacts"
fail=0
for t in $targets; do
  mkdir -p "$fb/corpus/$t"
  log="$fb/$t.log"
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 OMP_NUM_THREADS=1 \
    "$fb/$t" -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$fb/artifacts/$t-" "$fb/corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  if [ $rc -ne 0 ]; then
    echo "fuzz: $t FAILED after ${runs:-?} runs (log $log):"
    grep -E "ERROR|SUMMARY|runtime error|fuzz check|Test unit written" "$log" | head -20
    fail=1
  else
    echo "fuzz: $t ok, ${secs} s, ${runs:-?} runs, corpus $(ls "$fb/corpus/$t" | wc -l) files"
  fi
done
exit $fail
