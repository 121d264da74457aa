#!/usr/bin/env bash
# Installs a Duplex build tree into a temporary prefix and builds and runs a small consumer
# (consumer/) against it twice: through find_package(Duplex) + Duplex::duplex, and through
# `pkg-config --cflags --libs duplex`. Driven by CTest (label "install"); see CMakeLists.txt.
#
#   run_consumer_test.sh <build-dir> <consumer-source-dir> <cmake> <c++ compiler> <pkg-config>
#                        <install libdir> <config> [extra compile/link flags]
#
# Every step is bounded by one overall budget (DUPLEX_INSTALL_TEST_BUDGET seconds, default 540,
# below the CTest TIMEOUT) so that the script always gets to remove its temporary directory.
set -euo pipefail

if [ "$#" -lt 7 ]; then
  echo "usage: $0 <build-dir> <consumer-dir> <cmake> <cxx> <pkg-config> <libdir> <config> [flags]" >&2
  exit 2
fi
build_dir=$1
consumer_dir=$2
cmake=$3
cxx=$4
pkg_config=$5
libdir=$6
config=$7
extra_flags=${8:-}

budget=${DUPLEX_INSTALL_TEST_BUDGET:-540}
deadline=$((SECONDS + budget))

work=$(mktemp -d "${TMPDIR:-/tmp}/duplex-install-test.XXXXXX")
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

prefix=$work/prefix
step() { echo; echo "== $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
# Runs a command with what is left of the budget.
bounded() {
  local left=$((deadline - SECONDS))
  [ "$left" -gt 0 ] || fail "time budget of ${budget}s exhausted before: $*"
  local rc=0
  timeout --kill-after=10 "$left" "$@" || rc=$?
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then fail "timed out: $*"; fi
  [ "$rc" -eq 0 ] || fail "exit status $rc: $*"
}

step "install $build_dir into $prefix"
bounded "$cmake" --install "$build_dir" --prefix "$prefix" --config "$config"

step "check the installed tree"
for f in "$libdir/libduplex.so" "$libdir/cmake/Duplex/DuplexConfig.cmake" \
         "$libdir/cmake/Duplex/DuplexConfigVersion.cmake" \
         "$libdir/cmake/Duplex/DuplexTargets.cmake" "$libdir/cmake/Duplex/FindCAF.cmake" \
         "$libdir/pkgconfig/duplex.pc" include/duplex/duplex.hpp include/duplex/actor_face.hpp; do
  [ -e "$prefix/$f" ] || fail "not installed: $f"
done
soname=$(objdump -p "$prefix/$libdir/libduplex.so" | awk '$1 == "SONAME" { print $2 }')
echo "SONAME: $soname"
case "$soname" in libduplex.so.[0-9]*) ;; *) fail "libduplex.so has no versioned SONAME" ;; esac
[ -e "$prefix/$libdir/$soname" ] || fail "$soname not installed"
# The export must not reference the build machine's trees, and the target's interface must not
# carry the private dependencies (ZeroMQ, spdlog) nor absolute paths to any dependency.
# (IMPORTED_LINK_DEPENDENT_LIBRARIES in DuplexTargets-<config>.cmake does name spdlog::spdlog:
# CMake records a shared library's private shared deps there for -rpath-link; a consumer
# without that target ignores the entry.)
src_dir=$(cd "$consumer_dir/../../.." && pwd)
for bad in "$build_dir" "$src_dir/"; do
  if grep -qF -- "$bad" "$prefix/$libdir/cmake/Duplex/"DuplexTargets*.cmake; then
    fail "DuplexTargets*.cmake mentions '$bad'"
  fi
done
interface=$(grep -E '^ *INTERFACE_' "$prefix/$libdir/cmake/Duplex/DuplexTargets.cmake")
echo "$interface"
for bad in PkgConfig:: ZMQ zmq spdlog '"/' ';/'; do
  if grep -qF -- "$bad" <<<"$interface"; then fail "Duplex::duplex's interface mentions '$bad'"; fi
done

step "CMake consumer: configure with CMAKE_PREFIX_PATH=$prefix"
bounded "$cmake" -S "$consumer_dir" -B "$work/cmake-consumer" \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_CXX_FLAGS_DEBUG="-O0" -DCMAKE_CXX_FLAGS="$extra_flags" \
  -DCMAKE_EXE_LINKER_FLAGS="$extra_flags" \
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF
duplex_dir=$(sed -n 's/^Duplex_DIR:PATH=//p' "$work/cmake-consumer/CMakeCache.txt")
echo "Duplex_DIR: $duplex_dir"
[ "$duplex_dir" = "$prefix/$libdir/cmake/Duplex" ] || fail "Duplex found outside the prefix"

step "CMake consumer: build"
bounded "$cmake" --build "$work/cmake-consumer"

export LD_LIBRARY_PATH="$prefix/$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
check_links_prefix() {
  local resolved
  resolved=$(ldd "$1" | awk '$1 ~ /^libduplex\.so/ { print $3 }')
  echo "libduplex resolved to: $resolved"
  case "$resolved" in "$prefix"/*) ;; *) fail "$1 does not use the installed libduplex" ;; esac
}

step "CMake consumer: run"
check_links_prefix "$work/cmake-consumer/duplex_consumer"
bounded "$work/cmake-consumer/duplex_consumer"

step "pkg-config consumer: flags from $prefix/$libdir/pkgconfig/duplex.pc"
export PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig"
"$pkg_config" --exists --print-errors duplex
pc_prefix=$("$pkg_config" --variable=prefix duplex)
[ "$(cd "$pc_prefix" && pwd)" = "$(cd "$prefix" && pwd)" ] || fail "duplex.pc prefix is $pc_prefix"
cflags=$("$pkg_config" --cflags duplex)
libs=$("$pkg_config" --libs duplex)
echo "pkg-config --modversion duplex: $("$pkg_config" --modversion duplex)"
echo "pkg-config --cflags duplex: $cflags"
echo "pkg-config --libs duplex:   $libs"

step "pkg-config consumer: build"
# shellcheck disable=SC2086  # the flags are meant to be split
bounded "$cxx" -std=c++17 -O0 -Wall -Wextra -Wpedantic -Werror $extra_flags $cflags \
  "$consumer_dir/main.cpp" -o "$work/pc-consumer" $libs

step "pkg-config consumer: run"
check_links_prefix "$work/pc-consumer"
bounded "$work/pc-consumer"

echo
echo "install test passed"
