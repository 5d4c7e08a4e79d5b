#!/usr/bin/env bash
# Installs what is missing, then builds and runs every test twice: a normal build (build/) and an
# AddressSanitizer + UndefinedBehaviorSanitizer build (build/asan). Warnings are errors in both.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
jobs=$(nproc 2>/dev/null || echo 2)

echo "== normal build =="
bash scripts/build.sh "$root/build" -DPOLDER_WERROR=ON
(cd build && ctest --output-on-failure -j"$jobs" --timeout 600)

echo "== kill campaign (50 SIGKILLs under load; scripts/kill_campaign.sh N for more) =="
POLDER_BIN="$root/build/polder" bash scripts/kill_campaign.sh 50 3

echo "== multi-host testnet (network namespaces; skipped without root and ip) =="
bash deploy/testnet/netns.sh "$root/build/polder"

echo "== sanitizer build (address, undefined) =="
bash scripts/build.sh "$root/build/asan" -DPOLDER_WERROR=ON -DPOLDER_SANITIZE=ON -DPOLDER_BENCH=OFF
(cd build/asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --output-on-failure -j"$jobs" --timeout 900)

echo "== fuzzing (libFuzzer, clang; 30 s per target) =="
bash scripts/fuzz.sh 30
