// This process's resident set size, for the idle-channel memory case.
#pragma once

#include <cstdint>

namespace duplex_bench {

// VmRSS from /proc/self/status in bytes; 0 when it cannot be read.
std::uint64_t resident_bytes();

}  // namespace duplex_bench
