#!/usr/bin/env bash
# Runs every fuzz target for a given time (default 300 s each) and prints its figures.
#   fuzz/run.sh [seconds] [target...]
# Needs cargo-fuzz (`cargo install cargo-fuzz`). On a stable toolchain the sanitizer
# flags cargo-fuzz passes need RUSTC_BOOTSTRAP=1. Not part of CI.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-300}"
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(callback_query token_answer path_segment fraud_headers)
export RUSTC_BOOTSTRAP=1
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  log="artifacts/$t/run.log"
  status=0
  cargo fuzz run "$t" "corpus/$t" -- -max_total_time="$seconds" -artifact_prefix="artifacts/$t/" >"$log" 2>&1 || status=$?
  execs=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | tail -1 | grep -o '[0-9]*' | head -1 || true)
  execs="${execs:-?}"
  crashes=$(find "artifacts/$t" -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' | wc -l)
  echo "$t: ${seconds}s, ${execs} executions, ${crashes} crashes (exit ${status}; log $log)"
done
