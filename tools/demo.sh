#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds Duplex and runs the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${DUPLEX_SKIP_SETUP:-0}" != 1 ]; then
  bash tools/setup.sh
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j2 --target duplex-demo
./build/apps/duplex-demo
