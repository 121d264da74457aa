// Duplex frames: the units of the wire protocol (docs/PROTOCOL.md), and their msgpack encoding.
// One ZeroMQ message carries a batch: one or more encoded frames back to back.
#pragma once

#include <msgpack.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "duplex/bytes.hpp"
#include "duplex/error.hpp"

namespace duplex::wire {

inline constexpr std::uint32_t protocol_major = 1;
inline constexpr std::uint32_t protocol_minor = 0;
// Credit a DATA frame costs beyond its payload, so that empty messages are bounded too.
inline constexpr std::size_t data_frame_overhead = 16;

enum class frame_kind : std::uint8_t {
  hello = 1,
  open = 2,
  data = 3,
  end = 4,
  error = 5,
  trailers = 6,
  cancel = 7,
  credit = 8,
  ping = 9,
  pong = 10,
  bye = 11,
};

const char* to_string(frame_kind kind) noexcept;

struct hello_fields {
  std::uint32_t version_major = protocol_major;
  std::uint32_t version_minor = protocol_minor;
  std::string peer_id;
  std::string session_id;
  std::uint64_t window = 0;       // initial credit of every channel towards the sender
  std::uint64_t max_payload = 0;  // largest DATA payload the sender accepts
  // Credit for DATA to the sender summed over all channels of the connection; 0: no such
  // limit (the field is then left out of the encoding).
  std::uint64_t connection_window = 0;
};

// One frame; which fields matter depends on `kind` (see PROTOCOL.md).
struct frame {
  frame_kind kind = frame_kind::data;
  std::uint64_t channel = 0;
  std::uint64_t parent = 0;  // open: enclosing channel id, 0 for none
  std::string service;       // open
  metadata headers;          // open: headers; trailers: trailers
  bytes payload;             // data
  std::uint64_t value = 0;   // credit: bytes granted; ping/pong: nonce
  duplex::error status;      // error, cancel, bye
  hello_fields hello;        // hello
};

// Limits applied while decoding bytes from the network (msgpack-cxx trusts lengths otherwise).
struct decode_limits {
  std::size_t max_payload = 4u << 20;  // larger payloads still decode up to 2x + 64 KiB so the
                                       // receiver can refuse them per channel
  std::size_t max_header_bytes = 64u << 10;
  std::size_t max_frames = 1u << 20;  // per batch
};

// Appends the encoding of `f` to `out` (a batch under construction).
void encode(const frame& f, std::string& out);
// Fast paths for the frequent frames.
void encode_data(std::uint64_t channel, const std::uint8_t* data, std::size_t size,
                 std::string& out);
void encode_simple(frame_kind kind, std::uint64_t channel, std::string& out);
void encode_value(frame_kind kind, std::uint64_t channel, std::uint64_t value, std::string& out);
void encode_status(frame_kind kind, std::uint64_t channel, const duplex::error& status,
                   std::string& out);

// Decodes a whole batch. Any malformed frame makes the whole batch a connection error
// (errc::internal). Frames of unknown kind are skipped (forward compatibility).
result<std::vector<frame>> decode_batch(const void* data, std::size_t size,
                                        const decode_limits& limits);

}  // namespace duplex::wire
