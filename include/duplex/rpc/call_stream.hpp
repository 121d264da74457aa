// One call's two message streams as the RPC layer sees them, on either end: the caller writes
// requests and reads responses, the handler reads requests and writes responses. Reads and
// writes pass the call's interceptors and honour its deadline; a read ends with the call's
// status (ok: std::nullopt).
//
// Thread contract: a call_stream is a shared handle (copies refer to the same call). One
// thread may read while another writes; cancel() is safe from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "duplex/bytes.hpp"
#include "duplex/channel.hpp"
#include "duplex/codec.hpp"
#include "duplex/error.hpp"

namespace duplex::rpc {

namespace detail {
struct call_state;
}
class call_stream;
namespace detail {
// Server side: the handler's last message, which the node sends after the handler returns
// together with the trailers and the end. failed_precondition if one is already set.
result<void> respond_last(call_stream& stream, bytes response);
}  // namespace detail

using std::chrono::milliseconds;

class call_stream {
 public:
  call_stream() = default;
  explicit call_stream(std::shared_ptr<detail::call_state> state) : state_(std::move(state)) {}

  bool valid() const noexcept { return state_ != nullptr; }

  // The other side's next message; std::nullopt when it ended with status ok. An error is
  // the call's status (the handler's error, deadline_exceeded, cancelled, unavailable, ...),
  // or deadline_exceeded alone when `timeout` passed first (the call goes on).
  result<std::optional<bytes>> read(milliseconds timeout = forever);
  // Like read(), without a thread waiting; `callback` must not block.
  void read_async(std::function<void(result<std::optional<bytes>>)> callback);
  // Waits while the other side's window is full, at most until the call's deadline.
  result<void> write(bytes payload);
  // Ends this side's messages (the caller's half-close); the other direction stays open.
  result<void> close_write();
  // Ends the call at both ends with `cancelled`.
  void cancel();
  // The other side's trailers, once its stream ended (the caller: the handler's trailers).
  metadata trailers() const;
  // The codec the call's content-type header chose.
  const codec& payload_codec() const;
  // The channel the call runs on (for its meta() or nested channels of one's own).
  channel& underlying();

  template <class T>
  result<void> write_as(const T& value) {
    auto encoded = encode_as(payload_codec(), value);
    if (!encoded) return encoded.error();
    return write(std::move(*encoded));
  }
  template <class T>
  result<std::optional<T>> read_as(milliseconds timeout = forever) {
    auto next = read(timeout);
    if (!next) return next.error();
    if (!*next) return std::optional<T>{};
    auto value = decode_as<T>(payload_codec(), std::move(**next));
    if (!value) return value.error();
    return std::optional<T>{std::move(*value)};
  }

  detail::call_state& state() { return *state_; }

 private:
  std::shared_ptr<detail::call_state> state_;
};

// Typed views of a call_stream, as handlers and callers see their side of it.
template <class T>
class reader {
 public:
  explicit reader(call_stream stream) : stream_(std::move(stream)) {}
  // A value, std::nullopt at the end, or the call's status.
  result<std::optional<T>> read(milliseconds timeout = forever) {
    return stream_.read_as<T>(timeout);
  }

 private:
  call_stream stream_;
};

template <class T>
class writer {
 public:
  explicit writer(call_stream stream) : stream_(std::move(stream)) {}
  result<void> write(const T& value) { return stream_.write_as(value); }

 private:
  call_stream stream_;
};

}  // namespace duplex::rpc
