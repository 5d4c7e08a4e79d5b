#!/usr/bin/env bash
# Installs what Polder needs to build and test, from Debian 12 packages only. Idempotent: it
# installs only what is missing. As root it runs apt-get; otherwise it prints the command to run.
set -euo pipefail

packages=(
  g++ cmake make pkg-config git ca-certificates
  libasio-dev libprotobuf-dev protobuf-compiler libsodium-dev
  libsqlite3-dev libsqlitecpp-dev libgmp-dev libcli11-dev libtomlplusplus-dev
  libgtest-dev libgmock-dev libbenchmark-dev nlohmann-json3-dev
  libspdlog-dev libcpp-httplib-dev prometheus-cpp-dev iproute2
  clang-14 libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages are installed"
  exit 0
fi

echo "setup: missing: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "setup: run this as root, then try again:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup: installed ${#missing[@]} packages"
