// Every tunable of a peer and a runtime, with its default beside it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "duplex/error.hpp"
#include "duplex/security.hpp"

namespace spdlog {
class logger;
}

namespace duplex {

using std::chrono::milliseconds;

struct peer_options {
  // This peer's id, sent in HELLO. Empty: a random id is generated at construction.
  std::string peer_id = {};

  // Bounds on what waits for a first remote peer (or for an explicit one) before it is sent:
  // per channel, messages and bytes written while the channel has no connection yet.
  std::size_t pending_messages = 10'000;
  std::size_t pending_bytes = 64u << 20;  // 64 MiB
  // Channels opened while no remote peer is connected that wait for one.
  std::size_t max_pending_opens = 10'000;

  // Largest payload of one message, checked by the sender and by the receiver.
  std::size_t max_payload = 4u << 20;  // 4 MiB
  // Per-channel receive window in bytes (credit); must hold one max-size message plus its
  // per-message cost (see docs/PROTOCOL.md, "Flow control").
  std::size_t channel_window = 8u << 20;  // 8 MiB
  // Receive window of a whole connection: unread data of all its channels together. Several
  // channel windows, so that a few stalled readers do not stall the others.
  std::size_t connection_window = 64u << 20;  // 64 MiB

  // How long shutdown() and the destructor wait for queued frames to leave.
  milliseconds linger = milliseconds{1000};

  // Liveness of every connection: Duplex PING every heartbeat_interval, and the connection
  // fails (its channels end with unavailable) when nothing arrives for heartbeat_timeout.
  // ZeroMQ heartbeats (ZMQ_HEARTBEAT_IVL / _TIMEOUT / _TTL) use the same values. Answered by
  // the transport thread: blocked handlers or busy actors never make a peer look dead.
  milliseconds heartbeat_interval = milliseconds{5000};
  milliseconds heartbeat_timeout = milliseconds{15000};
  // A connection that has not finished its ZeroMQ handshake by then is dropped
  // (ZMQ_HANDSHAKE_IVL; against clients that connect and never speak).
  milliseconds handshake_interval = milliseconds{5000};

  // Reconnect backoff of connected endpoints (ZMQ_RECONNECT_IVL / _MAX).
  milliseconds reconnect_interval = milliseconds{100};
  milliseconds reconnect_interval_max = milliseconds{5000};

  // Incoming channels for services without a handler wait for peer::accept() when true;
  // when false their openers get unimplemented.
  bool accept_unhandled = false;

  // Threads that run blocking channel handlers (peer::handle(), RPC handlers and callbacks):
  // handler_threads from the start, more while all are busy, up to max_handler_threads.
  std::size_t handler_threads = 4;
  std::size_t max_handler_threads = 64;

  // Limits against hostile peers. Open channels are counted per connection, both sides' opens
  // together; a channel the remote opens beyond the limit is refused (resource_exhausted).
  std::size_t max_channels_per_remote = 100'000;
  std::size_t max_header_bytes = 64u << 10;  // 64 KiB of service name + headers per OPEN

  // CURVE encryption and authentication (see duplex/security.hpp). Off by default.
  security_options security = {};

  // Returns invalid_argument naming the first bad value, or ok.
  result<void> validate() const;
};

// Where the library's log lines go. By default nowhere: Duplex never writes to stderr unless
// the application asks for it (use_stderr_logger() or its own spdlog logger).
struct log_options {
  std::shared_ptr<spdlog::logger> logger = nullptr;
  static log_options use_stderr_logger();
};

struct runtime_options {
  // CAF scheduler threads when the runtime owns its actor system; 0 = one per core.
  std::size_t scheduler_threads = 0;
  // ZeroMQ I/O threads.
  int io_threads = 1;
  log_options log = {};

  result<void> validate() const;
};

}  // namespace duplex
