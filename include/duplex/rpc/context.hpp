// What a handler knows about the call it serves: method, headers, caller, deadline and
// cancellation, its trailers and the callbacks the caller passed.
//
// Thread contract: every member is thread-safe; the context lives until the handler returns
// (copies of callbacks() outlive it safely and fail with failed_precondition afterwards).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "duplex/bytes.hpp"
#include "duplex/error.hpp"

namespace duplex::rpc {

namespace detail {
struct call_scope;
}

class remote_callbacks;

class call_context {
 public:
  using clock = std::chrono::steady_clock;

  explicit call_context(std::shared_ptr<detail::call_scope> scope);

  // "service/method", or the callback's name for a callback call.
  const std::string& method() const;
  const metadata& headers() const;
  // The remote peer that made the call.
  const std::string& peer_id() const;
  // The caller's CURVE public key as authenticated (Z85); empty without CURVE.
  const std::string& peer_key() const;
  // 0 for a call, n for a callback nested n deep.
  std::size_t depth() const;
  // The caller's deadline, measured on this side's clock from the call's arrival.
  std::optional<clock::time_point> deadline() const;
  // Fire-and-forget: nothing the handler returns reaches the caller.
  bool oneway() const;

  // Cancellation: the caller cancelled or went away, or the deadline passed.
  bool cancelled() const;
  // ok while not cancelled; otherwise cancelled, deadline_exceeded or unavailable.
  error cancel_reason() const;
  // Waits up to `timeout` for cancellation; true if the call was cancelled.
  bool wait_cancelled(std::chrono::milliseconds timeout) const;
  // `callback` runs once when the call is cancelled (at once if it already is), on the thread
  // that cancels it: it must not block.
  void on_cancel(std::function<void(const error&)> callback);
  // Ends the call now with `cancelled` at both ends.
  void cancel();

  // Trailers sent with the call's status.
  void set_trailer(std::string key, std::string value);

  // The callbacks the caller passed, callable until this call ends.
  remote_callbacks callbacks() const;

  // The call being served on this thread; nullptr outside handlers. Calls made on a thread
  // that serves a call inherit its remaining deadline and its cancellation.
  static call_context* current();

  detail::call_scope& scope() const { return *scope_; }

 private:
  std::shared_ptr<detail::call_scope> scope_;
};

}  // namespace duplex::rpc
