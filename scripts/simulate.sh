#!/usr/bin/env bash
# Deterministic simulation (tests/sync/simulation_test.cc): runs SEEDS seeds (default 1000) of
# eight nodes with crashes, broken sessions and partitions on simulated time; a failure prints
# the seed, and POLDER_SIM_SEED=S build/tests/simulation_test reproduces it.
#   scripts/simulate.sh 5000
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seeds=${1:-1000}
bin="$root/build/tests/simulation_test"
[ -x "$bin" ] || { echo "build first: bash scripts/build.sh build" >&2; exit 2; }
POLDER_SIM_SEEDS="$seeds" "$bin" --gtest_filter='Simulation.ManySeedsOfEightNodesConverge'
