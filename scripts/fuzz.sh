#!/usr/bin/env bash
# Builds the libFuzzer targets with clang into build/fuzz and runs each for SECONDS (default 30),
# starting from the seeds in tests/fuzz/corpus/<target> (new inputs go to a temporary folder; pass
# --keep to add them to the corpus). Fails on any crash, leak or sanitizer report.
#   scripts/fuzz.sh            # 30 s per target (CI)
#   scripts/fuzz.sh 3600 --keep
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-30}
keep=${2:-}
jobs=$(nproc 2>/dev/null || echo 2)
CC=clang-14 CXX=clang++-14 cmake -S "$root" -B "$root/build/fuzz" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DPOLDER_FUZZ=ON -DPOLDER_TESTS=OFF -DPOLDER_BENCH=OFF >/dev/null
cmake --build "$root/build/fuzz" -j"$jobs" >/dev/null
for t in frame_reader handshake_read transport_decrypt member_id event_gate pabulib join_code \
    replica_fold sync_message bundle; do
  seeds="$root/tests/fuzz/corpus/$t"
  work=$(mktemp -d)
  log="$work/log"
  if ! "$root/build/fuzz/fuzz/${t}_fuzz" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 "$work" "$seeds" >"$log" 2>&1; then
    tail -n 40 "$log"
    echo "fuzz: $t FAILED (crash input saved beside the log above)" >&2
    exit 1
  fi
  runs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')
  echo "fuzz: $t: ${runs:-?} inputs in ${secs} s, no crash"
  if [ "$keep" = "--keep" ]; then cp -n "$work"/* "$seeds"/ 2>/dev/null || true; fi
  rm -rf "$work"
done
