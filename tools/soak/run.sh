#!/usr/bin/env bash
# Runs the soak test (reliability reference F1): duplex-soak against duplex-testpeer processes.
#   tools/soak/run.sh [--duration 2m|15m|SECONDS] [--out DIR] [--build-dir DIR] [-- OPTION...]
# Builds nothing: both programs come from build/ (or --build-dir). Options after `--` go to
# duplex-soak (see duplex-soak --help). The exit code is duplex-soak's: 0 when every check
# passed, 1 when one failed, 2 when the soak could not start.
# RSS that grows in steps and levels off is often glibc keeping freed memory in per-thread
# arenas; MALLOC_ARENA_MAX=1 in the environment (inherited by the test peers) tells that
# apart from a leak.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"

usage() { sed -n '2,9s/^# \{0,1\}//p' "$0"; }

build_dir="$root/build"
duration=2m
out=""
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration="${2:?--duration needs a value}"; shift 2 ;;
    --out) out="${2:?--out needs a directory}"; shift 2 ;;
    --build-dir) build_dir="${2:?--build-dir needs a directory}"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done

soak="$build_dir/tools/soak/duplex-soak"
testpeer="$build_dir/test/harness/duplex-testpeer"
for program in "$soak" "$testpeer"; do
  if [ ! -x "$program" ]; then
    echo "run.sh: $program not found; build first: cmake --build $build_dir -j2" >&2
    exit 2
  fi
done

args=(--testpeer "$testpeer" --duration "$duration")
if [ -n "$out" ]; then
  mkdir -p "$out"
  args+=(--out "$out")
fi
# exec: the driver is the process CTest times out and kills, and its test peers die with it.
exec "$soak" "${args[@]}" "${extra[@]}"
