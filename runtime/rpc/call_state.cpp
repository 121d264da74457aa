#include <charconv>

#include "runtime/channel_link.hpp"
#include "runtime/rpc/rpc_state.hpp"
#include "runtime/rpc/wire_headers.hpp"

namespace duplex::rpc {
namespace detail {

namespace {

// The status a handler's trailers carry; ok when there is none (a raw or one-way callee).
error status_from_trailers(const metadata& trailers) {
  auto code = trailers.find(status_trailer);
  if (code == trailers.end()) return {};
  std::uint64_t number = 0;
  auto [end, failure] =
      std::from_chars(code->second.data(), code->second.data() + code->second.size(), number);
  if (failure != std::errc{} || end != code->second.data() + code->second.size())
    return {errc::internal, "malformed duplex-status trailer '" + code->second + "'"};
  if (number == 0) return {};
  auto message = trailers.find(message_trailer);
  return {errc_from_wire(number), message == trailers.end() ? std::string() : message->second};
}

}  // namespace

call_state::~call_state() {
  if (timer != 0 && node) node->timer.cancel(timer);
  if (oneway && ch.valid()) {
    // Nothing comes back but the callee's end of stream: keep the channel until it arrives,
    // so that dropping the call does not cancel it.
    auto held = std::make_shared<channel>(std::move(ch));
    held->read_async([held](read_result) mutable { held.reset(); });
    finish({});
    return;
  }
  finish({errc::cancelled, "the call was dropped before it finished"});
}

void call_state::end_locally(error reason) {
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (!local_end) local_end = reason;
  }
  ch.cancel();
}

error call_state::explain(error from_channel) {
  std::lock_guard<std::mutex> lock(mutex);
  if (local_end && from_channel.code == errc::cancelled) return *local_end;
  // The remote ended the call at its own deadline, which is never before this side's, before
  // this side's timer did: this side's deadline has passed as well.
  if (from_channel.code == errc::cancelled && deadline && clock::now() >= *deadline)
    return {errc::deadline_exceeded, "the call's deadline passed"};
  return from_channel;
}

result<void> call_state::check_message(direction dir, const bytes& payload) {
  if (!chain) return {};
  for (auto& i : *chain)
    if (auto verdict = i->on_message(info, dir, payload); !verdict) return verdict;
  return {};
}

error call_state::reject(error verdict) {
  std::lock_guard<std::mutex> lock(mutex);
  if (!rejected) rejected = std::move(verdict);
  was_rejected.store(true, std::memory_order_release);
  return *rejected;
}

std::optional<error> call_state::rejection() {
  // Every read and write asks; a stream's reader should not take a lock per message for it.
  if (!was_rejected.load(std::memory_order_acquire)) return std::nullopt;
  std::lock_guard<std::mutex> lock(mutex);
  return rejected;
}

void call_state::finish(const error& status) {
  if (!info.client || finished.exchange(true) || !chain) return;
  auto trailers = ch.valid() ? ch.meta().trailers : metadata{};
  for (auto& i : *chain) i->on_finish(info, status, trailers);
}

result<std::optional<bytes>> call_state::on_read(read_result r, bool local_timeout) {
  if (r.is_message()) {
    if (auto verdict = check_message(direction::received, *r); !verdict) {
      if (!info.client) return reject(verdict.error());
      end_locally(verdict.error());
      finish(verdict.error());
      return verdict.error();
    }
    return std::optional<bytes>{std::move(*r)};
  }
  if (r.is_end()) {
    if (!info.client) return std::optional<bytes>{};
    auto status = status_from_trailers(ch.meta().trailers);
    finish(status);
    if (!status.ok()) return status;
    return std::optional<bytes>{};
  }
  auto failure = r.error();
  if (local_timeout) {
    if (!deadline || clock::now() < *deadline) return failure;  // the reader's own timeout
    failure = {errc::deadline_exceeded, "the call's deadline passed"};
    end_locally(failure);
  }
  failure = explain(failure);
  if (info.client) finish(failure);
  return failure;
}

call_context*& current_context() {
  thread_local call_context* current = nullptr;
  return current;
}

}  // namespace detail

result<std::optional<bytes>> call_stream::read(milliseconds timeout) {
  if (!state_) return error{errc::failed_precondition, "empty call handle"};
  auto& st = *state_;
  if (st.start_error) {
    st.finish(*st.start_error);
    return *st.start_error;
  }
  if (auto rejected = st.rejection()) return *rejected;
  // A message already there is read without the clock (a stream's reader mostly finds one).
  if (auto ready = st.ch.try_read()) return st.on_read(std::move(*ready), false);
  auto wait = timeout;
  bool deadline_bound = false;
  if (st.deadline) {
    auto left = std::chrono::ceil<milliseconds>(*st.deadline - detail::clock::now());
    if (left.count() < 0) left = milliseconds{0};
    if (wait.count() < 0 || left < wait) {
      wait = left;
      deadline_bound = true;
    }
  }
  auto next = duplex::detail::channel_access::read_or_time_out(st.ch, wait);
  if (next) return st.on_read(std::move(*next), false);  // the stream's, whatever its code
  error waited{errc::deadline_exceeded, "no result within " + std::to_string(wait.count()) + " ms"};
  // A wait that was the caller's own (shorter than the deadline) ran out: reported as is.
  if (!deadline_bound) return waited;
  return st.on_read(read_result::failure(std::move(waited)), true);
}

void call_stream::read_async(std::function<void(result<std::optional<bytes>>)> callback) {
  if (!state_) return callback(error{errc::failed_precondition, "empty call handle"});
  auto st = state_;
  if (st->start_error) {
    st->finish(*st->start_error);
    return callback(*st->start_error);
  }
  if (auto rejected = st->rejection()) return callback(*rejected);
  // The deadline's timer cancels the channel; explain() turns that into deadline_exceeded.
  auto deliver = [st, callback = std::move(callback)](read_result r) {
    callback(st->on_read(std::move(r), false));
  };
  if (st->nonblocking_completion)
    duplex::detail::channel_access::read_async_nonblocking(st->ch, std::move(deliver));
  else
    st->ch.read_async(std::move(deliver));
}

result<void> call_stream::write(bytes payload) {
  if (!state_) return error{errc::failed_precondition, "empty call handle"};
  auto& st = *state_;
  if (st.start_error) return *st.start_error;
  if (auto rejected = st.rejection()) return *rejected;
  if (auto verdict = st.check_message(direction::sent, payload); !verdict) {
    if (!st.info.client) return st.reject(verdict.error());
    st.end_locally(verdict.error());
    return verdict;
  }
  auto timeout = forever;
  if (st.deadline) {
    timeout = std::chrono::ceil<milliseconds>(*st.deadline - detail::clock::now());
    if (timeout.count() <= 0) {
      error expired{errc::deadline_exceeded, "the call's deadline passed"};
      st.end_locally(expired);
      return expired;
    }
  }
  auto written = st.ch.write(std::move(payload), timeout);
  if (written) return written;
  auto failure = written.error();
  if (failure.code == errc::deadline_exceeded && st.deadline &&
      detail::clock::now() >= *st.deadline)
    st.end_locally(failure);
  return st.explain(failure);
}

result<void> call_stream::close_write() {
  if (!state_) return error{errc::failed_precondition, "empty call handle"};
  if (state_->start_error) return *state_->start_error;
  auto closed = state_->ch.close_write();
  if (!closed) return state_->explain(closed.error());
  return closed;
}

void call_stream::cancel() {
  if (!state_ || state_->start_error) return;
  error reason{errc::cancelled, "cancelled by the application"};
  state_->end_locally(reason);
  state_->finish(reason);
}

metadata call_stream::trailers() const {
  if (!state_ || !state_->ch.valid()) return {};
  return state_->ch.meta().trailers;
}

const codec& call_stream::payload_codec() const {
  if (state_ && state_->payload_codec) return *state_->payload_codec;
  // A call that never started still encodes (its writes then report why it did not start).
  static const codec_registry defaults;
  return *defaults.find(msgpack_content_type);
}

channel& call_stream::underlying() {
  return state_->ch;
}

namespace detail {

result<void> respond_last(call_stream& stream, bytes response) {
  if (!stream.valid()) return error{errc::failed_precondition, "empty call handle"};
  auto& st = stream.state();
  if (st.response) return error{errc::failed_precondition, "the call already has its response"};
  st.response = std::move(response);
  return {};
}

result<bytes> finish_unary(call_stream& stream) {
  (void)stream.close_write();  // already closed, or failed: the read says why
  auto first = stream.read();
  if (!first) return first.error();
  if (!*first) return error{errc::internal, "the call ended without a response"};
  auto rest = stream.read();
  if (!rest) return rest.error();
  if (*rest) {
    stream.cancel();
    return error{errc::internal, "a unary call got more than one response"};
  }
  return std::move(**first);
}

error failed_write(call_stream& stream, error write_error) {
  bool ended_here = false;  // e.g. an interceptor refused the request
  if (stream.valid()) {
    std::lock_guard<std::mutex> lock(stream.state().mutex);
    ended_here = stream.state().local_end.has_value();
  }
  bool refused_here = ended_here || write_error.code == errc::resource_exhausted ||
                      write_error.code == errc::invalid_argument ||
                      write_error.code == errc::deadline_exceeded;
  if (refused_here) {
    if (stream.valid() && !stream.state().start_error) {
      stream.state().end_locally(write_error);
      stream.state().finish(write_error);
    }
    return write_error;
  }
  auto status = finish_unary(stream);
  if (!status) return status.error();
  return write_error;
}

void finish_unary_async(call_stream stream, std::function<void(result<bytes>)> done) {
  (void)stream.close_write();
  stream.read_async([stream, done = std::move(done)](result<std::optional<bytes>> first) mutable {
    if (!first) return done(first.error());
    if (!*first) return done(error{errc::internal, "the call ended without a response"});
    auto response = std::make_shared<bytes>(std::move(**first));
    stream.read_async(
        [stream, response, done = std::move(done)](result<std::optional<bytes>> rest) mutable {
          if (!rest) return done(rest.error());
          if (*rest) {
            stream.cancel();
            return done(error{errc::internal, "a unary call got more than one response"});
          }
          done(std::move(*response));
        });
  });
}

}  // namespace detail

result<bytes> caller::call_raw(std::string method, bytes request, call_options options) {
  auto stream = open_call(std::move(method), std::move(options));
  if (auto sent = stream.write(std::move(request)); !sent)
    return detail::failed_write(stream, sent.error());
  return detail::finish_unary(stream);
}

}  // namespace duplex::rpc
