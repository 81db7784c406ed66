#!/usr/bin/env bash
# Installs, from Debian 12's archive, what anysock needs and is missing.
#   scripts/install-deps.sh          build + test dependencies
#   scripts/install-deps.sh --build  only what building needs
# Needs root for apt-get; says so (and what to install) when it is not.
set -euo pipefail

build_packages=(cmake make g++ pkg-config
  libboost1.81-dev libspdlog-dev libfmt-dev libcli11-dev libbluetooth-dev libmosquitto-dev)
# Real peers the tests run against, and GoogleTest. dpkg-dev: dpkg-shlibdeps,
# which cpack needs to compute the .deb's Depends (tests/install).
# liburing-dev: the io_uring reference responder of bench/kernel_suite.py.
# clang-15 + libfuzzer-15-dev: the fuzz preset (tests/fuzz). mosquitto,
# mosquitto-clients, python3-paho-mqtt: the broker the mqtt:// tests start,
# and peers on it.
test_packages=(libgtest-dev libgmock-dev libbenchmark-dev socat netcat-openbsd python3 dpkg-dev liburing-dev
  clang-15 libfuzzer-15-dev mosquitto mosquitto-clients python3-paho-mqtt)

wanted=("${build_packages[@]}")
[[ "${1:-}" == "--build" ]] || wanted+=("${test_packages[@]}")

missing=()
for p in "${wanted[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "installed" ]] || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#wanted[@]} packages present"
  exit 0
fi

if ((EUID != 0)); then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    exec sudo "$0" "$@"
  fi
  echo "install-deps: needs root to install: ${missing[*]}" >&2
  echo "install-deps: run 'sudo $0 $*' or: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
