// A channel: two message streams, one each way, between this peer and one remote peer.
//
// Thread contract: a channel is a move-only handle. Every member except move, assignment and
// destruction may be called from any thread, concurrently (e.g. cancel() from another thread
// wakes a blocked read()). Blocking members wait only for their own event and honour their
// timeout. Callbacks of the *_async members run either on the calling thread (when the result
// is already there) or on a Duplex actor thread: they must not block.
#pragma once

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>

#include "duplex/bytes.hpp"
#include "duplex/codec.hpp"
#include "duplex/error.hpp"
#include "duplex/read_result.hpp"

namespace caf {
class actor;
}

namespace duplex {

namespace detail {
struct channel_link;
struct channel_access;
}  // namespace detail

// No timeout: wait as long as it takes.
inline constexpr std::chrono::milliseconds forever{-1};

struct channel_meta {
  std::string service;
  metadata headers;
  metadata trailers;  // filled when the remote's trailers arrive (before end-of-stream)
  std::string local_peer_id;
  std::string remote_peer_id;  // empty until the channel is sent to a remote peer
  // The remote's public key as CURVE authenticated it (Z85); empty without CURVE.
  std::string remote_key;
};

class channel {
 public:
  channel() noexcept;  // an empty handle; every operation on it fails with failed_precondition
  ~channel();          // cancels the channel unless both directions were closed
  channel(channel&&) noexcept;
  channel& operator=(channel&&) noexcept;
  channel(const channel&) = delete;
  channel& operator=(const channel&) = delete;

  bool valid() const noexcept { return link_ != nullptr; }

  // ---- sending (this side's stream) ----
  // Queues one message. Waits while the remote's credit window (or, before a remote peer is
  // chosen, the pending queue) is full: at most `timeout`, then deadline_exceeded and the
  // message is not sent. resource_exhausted when the payload exceeds max_payload.
  result<void> write(bytes payload, std::chrono::milliseconds timeout = forever);
  // Never waits: resource_exhausted when the window or pending queue is full.
  result<void> try_write(bytes payload);
  // Completes when the message is queued for sending (or failed).
  std::future<result<void>> write_async(bytes payload);
  // Ends this side's stream with an error; the reader sees every message before it, then it.
  result<void> write_error(errc code, std::string message);
  // Trailers: sent before this side's end-of-stream; at most once.
  result<void> write_trailers(metadata trailers);
  // Ends this side's stream (half-close); the other direction stays open.
  result<void> close_write();

  // ---- receiving (the remote's stream) ----
  // The next message, end-of-stream (then trailers are in meta()) or an error.
  // deadline_exceeded when `timeout` passes first (nothing is lost: the next read gets it).
  read_result read(std::chrono::milliseconds timeout = forever);
  // Nothing waiting: std::nullopt.
  std::optional<read_result> try_read();
  // `callback` runs once with the next result; no thread waits meanwhile. It must not throw:
  // an exception from it, where it runs on a Duplex thread, fails the channel (unavailable
  // here, cancelled at the remote).
  void read_async(std::function<void(read_result)> callback);
  std::future<read_result> read_future();

  // ---- typed payloads (codec chosen by the channel's content-type header) ----
  template <class T>
  result<void> write_as(const T& value, std::chrono::milliseconds timeout = forever);
  // A value, std::nullopt at end-of-stream, or an error (invalid_argument if undecodable).
  template <class T>
  result<std::optional<T>> read_as(std::chrono::milliseconds timeout = forever);
  const codec& payload_codec() const;

  // ---- the channel as a whole ----
  // Ends this side's stream if still open and cancels the remote's if it has not ended.
  void close();
  // Aborts both directions now: local readers and writers get `cancelled`, the remote gets
  // CANCEL with `cancelled`. Safe from any thread.
  void cancel();
  channel_meta meta() const;
  // `callback` runs once when the channel has finished: ok after both directions ended (END
  // or ERROR, read or not), otherwise why it was aborted (cancelled, unavailable, ...). It
  // runs on this thread if the channel already finished, else on a Duplex actor thread, and
  // must not block. An empty handle calls it at once with failed_precondition.
  void on_finish(std::function<void(const error&)> callback);

  // ---- nested channels (on the same connection, closed with this one) ----
  channel open(std::string service, metadata headers = {});
  // The next channel the remote opened inside this one.
  result<channel> accept(std::chrono::milliseconds timeout = forever);
  // Like read_async(), for the next nested channel.
  void accept_async(std::function<void(result<channel>)> callback);

  // ---- actor face ----
  // The channel's actor (see duplex/actor_face.hpp for the messages it understands).
  caf::actor actor() const;

  explicit channel(std::unique_ptr<detail::channel_link> link);

 private:
  friend struct detail::channel_access;
  std::unique_ptr<detail::channel_link> link_;
};

template <class T>
result<void> channel::write_as(const T& value, std::chrono::milliseconds timeout) {
  auto encoded = encode_as(payload_codec(), value);
  if (!encoded) return encoded.error();
  return write(std::move(*encoded), timeout);
}

template <class T>
result<std::optional<T>> channel::read_as(std::chrono::milliseconds timeout) {
  auto next = read(timeout);
  if (next.is_error()) return next.error();
  if (next.is_end()) return std::optional<T>{};
  auto value = decode_as<T>(payload_codec(), std::move(*next));
  if (!value) return value.error();
  return std::optional<T>{std::move(*value)};
}

}  // namespace duplex
