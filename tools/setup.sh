#!/usr/bin/env bash
# Installs everything Duplex needs to build, test and run its demo on Debian 12 (as root).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
$sudo_cmd apt-get update
$sudo_cmd apt-get install -y --no-install-recommends \
  build-essential g++ cmake make pkg-config git ca-certificates \
  libcaf-dev cppzmq-dev libzmq3-dev libczmq-dev libmsgpack-cxx-dev libboost-test-dev \
  nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev \
  python3 python3-zmq python3-msgpack \
  clang libclang-rt-14-dev time procps \
  iproute2 nftables
