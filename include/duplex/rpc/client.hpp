// Making calls: unary (blocking, future or callback), the three streaming shapes, raw calls
// and fire-and-forget. `caller` is what a node offers for the services of remote peers, and
// what a handler offers for the callbacks its caller passed.
#pragma once

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "duplex/rpc/call_stream.hpp"
#include "duplex/rpc/service.hpp"
#include "duplex/send_batch.hpp"

namespace duplex::rpc {

struct call_options {
  // The call's deadline, from now. forever: none of its own (a call made inside a handler
  // still inherits that call's remaining deadline). The callee sees the remaining time.
  milliseconds timeout = forever;
  // Headers the call carries (keys starting with "duplex-" are reserved).
  metadata headers = {};
  // The remote peer to call by id; empty: the scheduler's round robin.
  std::string peer = {};
  // The payload codec ("application/json", ...); empty: msgpack.
  std::string content_type = {};
  // Callbacks the callee may call while this call runs.
  std::shared_ptr<const callback_set> callbacks = nullptr;
  // Inside a handler: take that call's remaining deadline and cancellation.
  bool inherit_context = true;
  // The callback of call_async() (and of the call's read_async()) neither blocks nor waits: it
  // then runs where the response is delivered, on Duplex's I/O thread, rather than being
  // handed to an actor thread. A write in it that would wait for credit fails with
  // resource_exhausted, and an exception it throws is dropped.
  bool nonblocking_completion = false;
};

namespace detail {
// Half-closes, then reads exactly one response and the end: a unary call's answer.
result<bytes> finish_unary(call_stream& stream);
void finish_unary_async(call_stream stream, std::function<void(result<bytes>)> done);
// The status of a call whose request could not be written: the write's own error when it was
// refused here (too large, deadline), else the call's status (e.g. unimplemented).
error failed_write(call_stream& stream, error write_error);
}  // namespace detail

// What every streaming call offers its caller: cancel, the handler's trailers, the raw stream.
class call_handle {
 public:
  explicit call_handle(call_stream s) : stream_(std::move(s)) {}
  void cancel() { stream_.cancel(); }
  metadata trailers() const { return stream_.trailers(); }
  call_stream& stream() { return stream_; }

 protected:
  call_stream stream_;
};

// A server-streaming call as its caller sees it.
template <class Resp>
class server_stream_call : public call_handle {
 public:
  using call_handle::call_handle;
  // The next response, std::nullopt when the handler finished with ok, or the status.
  result<std::optional<Resp>> read(milliseconds timeout = forever) {
    return stream_.read_as<Resp>(timeout);
  }
};

// A client-streaming call: write requests, then finish() for the one response.
template <class Req, class Resp>
class client_stream_call : public call_handle {
 public:
  using call_handle::call_handle;
  result<void> write(const Req& request) { return stream_.write_as(request); }
  result<Resp> finish() {
    auto raw = detail::finish_unary(stream_);
    if (!raw) return raw.error();
    return decode_as<Resp>(stream_.payload_codec(), std::move(*raw));
  }
};

// A bidirectional call: both sides write and read freely.
template <class Req, class Resp>
class bidi_call : public server_stream_call<Resp> {
 public:
  using server_stream_call<Resp>::server_stream_call;
  result<void> write(const Req& request) { return this->stream_.write_as(request); }
  result<void> close_write() { return this->stream_.close_write(); }
};

class caller {
 public:
  virtual ~caller() = default;

  // Starts a call and returns its raw streams (every shape is built on this). Failures to
  // start (unknown peer, deadline already passed, an interceptor's rejection) show on the
  // stream's first read. `oneway`: the callee sends nothing back.
  virtual call_stream open_call(std::string method, call_options options = {},
                                bool oneway = false) = 0;

  // Unary, blocking: the response or the call's status.
  template <class Resp, class Req>
  result<Resp> call(std::string method, const Req& request, call_options options = {}) {
    // Held until the read below waits for the response: that thread then sends the request
    // itself if the transport thread sleeps (no hand-off).
    send_batch until_the_read;
    auto [stream, sent, closed] = send_request(std::move(method), request, std::move(options));
    if (!sent) return finish_error<Resp>(stream, sent);
    auto raw = detail::finish_unary(stream);
    if (!raw) return raw.error();
    return decode_as<Resp>(stream.payload_codec(), std::move(*raw));
  }

  // Unary, asynchronous: `done` runs once on a Duplex thread (it must not block).
  template <class Resp, class Req>
  void call_async(std::string method, const Req& request, call_options options,
                  std::function<void(result<Resp>)> done) {
    auto [stream, sent, closed] = send_request(std::move(method), request, std::move(options));
    if (!sent) {
      done(finish_error<Resp>(stream, sent));
      return;
    }
    const codec* c = &stream.payload_codec();
    detail::finish_unary_async(stream, [c, done = std::move(done)](result<bytes> raw) {
      if (!raw) return done(raw.error());
      done(decode_as<Resp>(*c, std::move(*raw)));
    });
  }

  template <class Resp, class Req>
  std::future<result<Resp>> call_async(std::string method, const Req& request,
                                       call_options options = {}) {
    auto promise = std::make_shared<std::promise<result<Resp>>>();
    auto future = promise->get_future();
    call_async<Resp>(std::move(method), request, std::move(options),
                     [promise](result<Resp> r) { promise->set_value(std::move(r)); });
    return future;
  }

  // Fire-and-forget: returns once the request is queued; no response is sent.
  template <class Req>
  result<void> notify(std::string method, const Req& request, call_options options = {}) {
    auto sent = send_request(std::move(method), request, std::move(options), /*oneway=*/true);
    if (!sent.written) return sent.written;
    return sent.closed;
  }

  template <class Resp, class Req>
  server_stream_call<Resp> server_stream(std::string method, const Req& request,
                                         call_options options = {}) {
    auto sent = send_request(std::move(method), request, std::move(options));
    return server_stream_call<Resp>(std::move(sent.stream));
  }

  template <class Req, class Resp>
  client_stream_call<Req, Resp> client_stream(std::string method, call_options options = {}) {
    return client_stream_call<Req, Resp>(open_call(std::move(method), std::move(options)));
  }

  template <class Req, class Resp>
  bidi_call<Req, Resp> bidi(std::string method, call_options options = {}) {
    return bidi_call<Req, Resp>(open_call(std::move(method), std::move(options)));
  }

  // Unary on bytes in the call's codec (the CLI's form).
  result<bytes> call_raw(std::string method, bytes request, call_options options = {});

 private:
  struct sent_request {
    call_stream stream;
    result<void> written;  // the request's write
    result<void> closed;   // the half-close after it (when written)
  };
  // Starts a call with its one request and half-close, sent in one batch: the callee reads
  // OPEN, request and END together (and a nonblocking handler can answer at once).
  template <class Req>
  sent_request send_request(std::string method, const Req& request, call_options options,
                            bool oneway = false) {
    send_batch together;
    sent_request sent{open_call(std::move(method), std::move(options), oneway), {}, {}};
    sent.written = sent.stream.write_as(request);
    if (sent.written) sent.closed = sent.stream.close_write();
    return sent;
  }

  template <class Resp>
  static result<Resp> finish_error(call_stream& stream, const result<void>& sent) {
    return detail::failed_write(stream, sent.error());
  }
};

// The callbacks a caller passed with a call, as its handler calls them: a callback is called
// like a method, by its name. Copyable; calls fail with failed_precondition once the call
// that passed them has ended, and with not_found for a name the caller did not pass.
class remote_callbacks : public caller {
 public:
  remote_callbacks() = default;
  explicit remote_callbacks(std::shared_ptr<detail::call_scope> scope) : scope_(std::move(scope)) {}

  // The names the caller passed.
  std::vector<std::string> names() const;
  bool has(const std::string& name) const;
  // False once the call has ended.
  bool valid() const;

  call_stream open_call(std::string name, call_options options = {}, bool oneway = false) override;

 private:
  std::shared_ptr<detail::call_scope> scope_;
};

}  // namespace duplex::rpc
