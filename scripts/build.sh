#!/usr/bin/env bash
# Configures and builds into build/ (or the folder given), passing extra arguments to CMake.
#   scripts/build.sh                      → build/, RelWithDebInfo
#   scripts/build.sh build/asan -DPOLDER_SANITIZE=ON
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$root/build}
shift || true
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build "$dir" -j"$jobs"
