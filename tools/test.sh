#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds Duplex and runs its tests.
#   tools/test.sh           release build (build/) and every test
#   tools/test.sh --asan    AddressSanitizer + UBSan + LeakSanitizer build (build-asan/), every
#                           suite that does not depend on the build being uninstrumented
set -euo pipefail
cd "$(dirname "$0")/.."

mode=release
[ "${1:-}" = "--asan" ] && mode=asan

if [ "${DUPLEX_SKIP_SETUP:-0}" != 1 ]; then
  bash tools/setup.sh
fi

jobs=2
case "$mode" in
  release)
    cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
    cmake --build build -j"$jobs"
    (cd build && ctest --output-on-failure -j"$jobs" --timeout 600)
    ;;
  asan)
    cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DDUPLEX_ASAN=ON
    cmake --build build-asan -j"$jobs"
    # The install test links an uninstrumented consumer against the instrumented library; the
    # soak measures memory, and the reliability and netns suites assert detection times
    # (heartbeat timeout + 1 s), which mean nothing at ASan's speed; the benchmark's quick run
    # checks that results come out of the release build.
    (cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        ctest --output-on-failure -j"$jobs" --timeout 900 -LE 'install|soak|reliability|netns|bench')
    ;;
esac
