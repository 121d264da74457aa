// What duplex-testpeer serves, shared by the program, the tests and tools that talk to it:
// service names, header and trailer keys, the layout of `source` messages and the RPC types.
//
// Channel services (peer::handle):
//   echo    writes back every message it reads; ends cleanly when the opener ends.
//   sink    reads everything; at the opener's end sets the trailers `count` and `bytes`
//           (decimal strings) and ends.
//   source  open headers `count` N and `size` S (S >= 8): writes N messages of S bytes, each
//           starting with its index as 8 bytes little-endian, then ends; it reads (and drops)
//           what the opener sends until the opener ends.
// RPC service `test` (rpc::node):
//   echo    unary          echo_message -> the same echo_message
//   sleep   unary          sleep_request -> sleep_reply; returns early with the call's
//                          cancellation status (cancelled, deadline_exceeded, unavailable)
//   stream  server stream  stream_request -> `count` stream_items of `size` data bytes
//   collect client stream  stream_items -> collect_reply (messages and data bytes seen)
#pragma once

#include <duplex/bytes.hpp>
#include <msgpack.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace duplex::testpeer {

inline constexpr const char* echo_service = "echo";
inline constexpr const char* sink_service = "sink";
inline constexpr const char* source_service = "source";

// Open headers of `source`, trailers of `sink`.
inline constexpr const char* count_key = "count";
inline constexpr const char* size_key = "size";
inline constexpr const char* bytes_key = "bytes";

// Every `source` message starts with its index, little-endian.
inline constexpr std::size_t index_size = 8;

inline void put_index(bytes& message, std::uint64_t index) {
  for (std::size_t i = 0; i < index_size && i < message.size(); ++i)
    message[i] = static_cast<std::uint8_t>(index >> (8 * i));
}

// std::nullopt when the message is too short to hold an index.
inline std::optional<std::uint64_t> get_index(const bytes& message) {
  if (message.size() < index_size) return std::nullopt;
  std::uint64_t index = 0;
  for (std::size_t i = 0; i < index_size; ++i) index |= std::uint64_t{message[i]} << (8 * i);
  return index;
}

inline constexpr const char* rpc_service = "test";
inline constexpr const char* rpc_echo = "test/echo";
inline constexpr const char* rpc_sleep = "test/sleep";
inline constexpr const char* rpc_stream = "test/stream";
inline constexpr const char* rpc_collect = "test/collect";

struct echo_message {
  std::string text;
  bytes data;
  MSGPACK_DEFINE_MAP(text, data)
};

struct sleep_request {
  std::uint64_t ms = 0;
  MSGPACK_DEFINE_MAP(ms)
};

struct sleep_reply {
  std::uint64_t slept_ms = 0;
  MSGPACK_DEFINE_MAP(slept_ms)
};

struct stream_request {
  std::uint64_t count = 0;
  std::uint64_t size = 0;
  MSGPACK_DEFINE_MAP(count, size)
};

struct stream_item {
  std::uint64_t index = 0;
  bytes data;
  MSGPACK_DEFINE_MAP(index, data)
};

struct collect_reply {
  std::uint64_t count = 0;
  std::uint64_t total_bytes = 0;  // the data bytes of every item; "bytes" on the wire
  MSGPACK_DEFINE_MAP(count, MSGPACK_NVP("bytes", total_bytes))
};

}  // namespace duplex::testpeer
