#!/usr/bin/env bash
# Builds the wire-codec fuzzer (test/fuzz/frame_fuzzer.cpp) with clang's libFuzzer, ASan and
# UBSan straight from the sources, without configuring the project, and fuzzes for a while.
#
#   tools/fuzz.sh [seconds] [extra libFuzzer flags...]     (default: 60 seconds)
#
# New inputs go to $FUZZ_DIR/corpus (default /tmp/duplex-fuzz), seeded from test/fuzz/corpus;
# crashes are written to $FUZZ_DIR as crash-*. Reproduce one with
#   $FUZZ_DIR/frame_fuzzer $FUZZ_DIR/crash-<hash>
# and, once the bug is fixed, add the input to test/fuzz/corpus so fuzz_corpus_replay keeps it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${1:-60}"
shift || true
dir="${FUZZ_DIR:-/tmp/duplex-fuzz}"
cxx="${CXX_FUZZ:-clang++}"
mkdir -p "$dir/corpus"

"$cxx" -std=c++17 -g -O1 -Wall -Wextra -Wpedantic -Werror \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer \
  -DMSGPACK_NO_BOOST -DMSGPACK_DEFAULT_API_VERSION=3 \
  -I"$root" -I"$root/include" \
  "$root/test/fuzz/frame_fuzzer.cpp" "$root/codec/frame.cpp" "$root/runtime/error.cpp" \
  -o "$dir/frame_fuzzer"

cd "$dir"
exec ./frame_fuzzer -max_total_time="$seconds" -print_final_stats=1 "$@" \
  "$dir/corpus" "$root/test/fuzz/corpus"
