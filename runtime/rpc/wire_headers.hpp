// The headers and trailers that map a call onto a channel (docs/PROTOCOL.md, "RPC").
#pragma once

#include <chrono>

namespace duplex::rpc::detail {

// The largest duplex-timeout (2^40 ms, about 35 years): larger values are malformed, and a
// caller's longer timeout means no deadline.
inline constexpr std::chrono::milliseconds max_timeout{1LL << 40};

inline constexpr const char* timeout_header = "duplex-timeout";      // remaining ms, decimal
inline constexpr const char* oneway_header = "duplex-oneway";        // "1": send nothing back
inline constexpr const char* callbacks_header = "duplex-callbacks";  // names, comma-separated
inline constexpr const char* depth_header = "duplex-depth";          // callback nesting, decimal
inline constexpr const char* status_trailer = "duplex-status";       // status code, decimal
inline constexpr const char* message_trailer = "duplex-message";     // status message

}  // namespace duplex::rpc::detail
