#!/usr/bin/env bash
# Installs what the comparison systems of tools/bench/run.sh need on Debian 12 (as root):
# gRPC and Cap'n Proto for the peer programs, GNU time for CPU and RSS, matplotlib for the chart.
# ZeroMQ and msgpack (the floor) come with Duplex's own tools/setup.sh.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
$sudo_cmd apt-get update
$sudo_cmd apt-get install -y --no-install-recommends \
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler \
  capnproto libcapnp-dev \
  libzmq3-dev cppzmq-dev libmsgpack-cxx-dev g++ pkg-config \
  time util-linux iproute2 python3 python3-matplotlib
