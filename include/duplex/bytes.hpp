// Payload and header value types.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace duplex {

// An opaque payload: Duplex never looks inside a message's bytes.
using bytes = std::vector<std::uint8_t>;

// Headers and trailers: UTF-8 keys, binary-safe values.
using metadata = std::map<std::string, std::string>;

inline bytes to_bytes(std::string_view text) {
  return bytes(text.begin(), text.end());
}
inline std::string to_string(const bytes& data) {
  return std::string(data.begin(), data.end());
}

}  // namespace duplex
