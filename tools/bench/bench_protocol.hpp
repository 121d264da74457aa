// What duplex-bench-server serves, shared by the server and the client programs. Every payload
// travels as msgpack bin (duplex::bytes), as the ZeroMQ floor's payloads do.
//
// RPC service `bench`:
//   echo      unary          bytes -> the same bytes
//   stream    server stream  stream_request -> `count` messages of `size` bytes ('x' each)
//   pingpong  bidi           every message is written back as it comes, on one call
//   stats     unary          (anything) -> stats_reply: the server's RSS and idle channels
// Channel service `bench.idle`: the server keeps every channel opened to it, open both ways,
// and writes one ack message (idle_ack) on each; the opener's first read is that ack.
#pragma once

#include <duplex/bytes.hpp>
#include <msgpack.hpp>

#include <cstdint>

namespace duplex_bench {

inline constexpr const char* rpc_service = "bench";
inline constexpr const char* rpc_echo = "bench/echo";
inline constexpr const char* rpc_stream = "bench/stream";
inline constexpr const char* rpc_pingpong = "bench/pingpong";
inline constexpr const char* rpc_stats = "bench/stats";
inline constexpr const char* idle_service = "bench.idle";

// The byte every streamed message is filled with, so that the reader can check what it touched.
inline constexpr std::uint8_t stream_fill = 'x';
inline constexpr std::uint8_t idle_ack = 'k';

struct stream_request {
  std::uint64_t count = 0;
  std::uint64_t size = 0;
  MSGPACK_DEFINE_MAP(count, size)
};

struct stats_reply {
  std::uint64_t rss_bytes = 0;      // VmRSS of the server process
  std::uint64_t idle_channels = 0;  // bench.idle channels the server holds
  std::uint64_t open_channels = 0;  // peer::channel_count() of the server's peer
  MSGPACK_DEFINE_MAP(rss_bytes, idle_channels, open_channels)
};

}  // namespace duplex_bench
