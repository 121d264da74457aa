#!/usr/bin/env bash
# ThreadSanitizer over Duplex's concurrency subset (not part of CI: it takes a TSan build of its
# own). libzmq and CAF come from Debian uninstrumented, so what crosses their lock-free queues
# looks unsynchronized to TSan; tools/tsan/suppressions.txt names those cases, each with why.
#
#   tools/tsan/run.sh [--build-dir DIR]      (default build-tsan/)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=build-tsan
[ "${1:-}" = "--build-dir" ] && build="$2"

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDUPLEX_TSAN=ON -DDUPLEX_BUILD_APPS=OFF
cmake --build "$build" -j2 --target core_test rpc_test
# Shows TSan the happens-before edge of CAF's mailboxes (see caf_mailbox_sync.cpp).
g++ -std=c++17 -O1 -shared -fPIC -o "$build/caf_mailbox_sync.so" tools/tsan/caf_mailbox_sync.cpp -ldl
export LD_PRELOAD="$PWD/$build/caf_mailbox_sync.so"

# TSan code runs 5-15 times slower: the tests' waits (bounds, not speed goals) grow to match.
export DUPLEX_TEST_TIME_SCALE=10
export TSAN_OPTIONS="suppressions=$PWD/tools/tsan/suppressions.txt halt_on_error=0 exitcode=66 second_deadlock_stack=1 report_signal_unsafe=0 history_size=4"
# The subset: every suite where threads meet (streams, flow control, nesting, routing, hostile
# input, shutdown, liveness and CURVE; RPC deadlines, cancellation, callbacks, interceptors).
core_suites="basic,streams,flow_control,nested,routing,pending_queue,teardown,hostile,security"
rpc_suites="conformance,deadlines,callbacks,interceptors,handler_failures,routing"
status=0
"$build/test/core_test" --run_test="$core_suites" --log_level=test_suite || status=$?
"$build/test/rpc_test" --run_test="$rpc_suites" --log_level=test_suite || status=$?
if [ "$status" -ne 0 ]; then
  echo "tsan: reports or failures above (exit $status)" >&2
  exit "$status"
fi
echo "tsan: no reports outside the suppressions"
