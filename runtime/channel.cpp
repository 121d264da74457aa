#include "duplex/channel.hpp"

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>

#include "actors/channel_actor.hpp"
#include "runtime/channel_link.hpp"

namespace duplex {

namespace detail {

std::shared_ptr<channel_core> make_opened_core(const peer_context& context, std::string service,
                                               metadata headers, duplex::error* codec_error) {
  auto codec = context.codecs->for_headers(headers);
  const auto& options = context.options;
  channel_meta meta{std::move(service), std::move(headers), {}, context.peer_id, {}, {}};
  auto core = std::make_shared<channel_core>(
      std::move(meta), codec ? *codec : context.codecs->find(msgpack_content_type),
      options.channel_window, options.pending_bytes, options.pending_messages, options.max_payload);
  if (!codec && codec_error) *codec_error = codec.error();
  return core;
}

std::unique_ptr<channel_link> make_opened_link(const std::shared_ptr<peer_context>& context,
                                               const caf::actor& peer, std::string service,
                                               metadata headers, const caf::actor& parent,
                                               duplex::error* codec_error) {
  auto core = make_opened_core(*context, std::move(service), std::move(headers), codec_error);
  auto actor = spawn_channel({core, context, peer, parent});
  return std::make_unique<channel_link>(
      channel_link{std::move(core), std::move(actor), context, peer});
}

std::unique_ptr<channel_link> make_incoming_link(const std::shared_ptr<peer_context>& context,
                                                 const caf::actor& peer,
                                                 const channel_ref& incoming) {
  return std::make_unique<channel_link>(channel_link{incoming.core, incoming.actor, context, peer});
}

}  // namespace detail

namespace {

using detail::outbound_op;
using detail::write_gate;

error no_channel() {
  return {errc::failed_precondition, "empty channel handle"};
}

std::optional<detail::clock::time_point> deadline_after(std::chrono::milliseconds timeout) {
  if (timeout.count() < 0) return std::nullopt;
  return detail::clock::now() + timeout;
}

// Where a blocking write whose operation had to queue waits for it, so that a write that goes
// straight out allocates nothing for waiting.
class write_waiter {
 public:
  void reset() {
    std::lock_guard<std::mutex> lock(mutex_);
    outcome_.reset();
  }
  void complete(result<void> r) {
    std::lock_guard<std::mutex> lock(mutex_);
    outcome_ = std::move(r);
    // Under the lock: once it is released the writer may return and this object go.
    done_.notify_one();
  }
  // False when the deadline passed first.
  bool wait_until(detail::clock::time_point deadline) {
    detail::transport::release_held_sends();  // the credit waited for answers them
    std::unique_lock<std::mutex> lock(mutex_);
    return done_.wait_until(lock, deadline, [this] { return outcome_.has_value(); });
  }
  result<void> wait() {
    detail::transport::release_held_sends();
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return outcome_.has_value(); });
    return std::move(*outcome_);
  }

 private:
  std::mutex mutex_;
  std::condition_variable done_;
  std::optional<result<void>> outcome_;
};

error timed_out(std::chrono::milliseconds timeout) {
  return {errc::deadline_exceeded, "no result within " + std::to_string(timeout.count()) + " ms"};
}

}  // namespace

namespace {

// A channel finished without its actor (actors/channel_finish.hpp) has nothing for it to do:
// a message would only start it to quit.
void tell_actor(const detail::channel_link& link, caf::atom_value signal) {
  if (link.core->finished_without_actor()) return;
  link.core->actor_needed();
  caf::anon_send(link.actor, signal);
}

}  // namespace

channel::channel() noexcept = default;
channel::channel(std::unique_ptr<detail::channel_link> link) : link_(std::move(link)) {}
channel::channel(channel&&) noexcept = default;

channel& channel::operator=(channel&& other) noexcept {
  if (this != &other) {
    if (link_) tell_actor(*link_, detail::dropped_atom::value);
    link_ = std::move(other.link_);
  }
  return *this;
}

channel::~channel() {
  if (!link_) return;
  // A handler that threw: the handler pool reports `unknown` instead of a plain cancel.
  if (std::uncaught_exceptions() > 0 && link_->core->in_handler) return;
  tell_actor(*link_, detail::dropped_atom::value);
}

result<void> channel::write(bytes payload, std::chrono::milliseconds timeout) {
  if (!link_) return no_channel();
  auto& core = *link_->core;
  if (payload.size() > core.max_payload)
    return error{errc::resource_exhausted, "payload of " + std::to_string(payload.size()) +
                                               " bytes exceeds the limit of " +
                                               std::to_string(core.max_payload) + " bytes"};
  outbound_op op;
  op.payload = std::move(payload);
  // One per thread: a thread waits in one write at a time, and a write returns only once its
  // operation completed or was withdrawn (and so will never complete).
  thread_local write_waiter this_threads_waiter;
  auto* waiter = &this_threads_waiter;
  waiter->reset();
  const bool may_not_wait = detail::nonblocking_scope::active();
  auto submitted = core.gate.submit(
      std::move(op), [waiter](result<void> r) { waiter->complete(std::move(r)); }, link_->actor,
      timeout.count() != 0 && !may_not_wait);
  switch (submitted.state) {
    case write_gate::outcome::sent:
      return {};
    case write_gate::outcome::failed:
      if (may_not_wait && submitted.err.code == errc::resource_exhausted)
        return error{errc::resource_exhausted,
                     "the send window is full, and a nonblocking handler cannot wait for it"};
      if (timeout.count() == 0 && submitted.err.code == errc::resource_exhausted)
        return timed_out(timeout);
      return submitted.err;
    case write_gate::outcome::queued:
      break;
  }
  if (auto deadline = deadline_after(timeout)) {
    if (!waiter->wait_until(*deadline) && core.gate.withdraw(submitted.ticket))
      return timed_out(timeout);
  }
  return waiter->wait();
}

result<void> channel::try_write(bytes payload) {
  if (!link_) return no_channel();
  auto& core = *link_->core;
  if (payload.size() > core.max_payload)
    return error{errc::resource_exhausted, "payload of " + std::to_string(payload.size()) +
                                               " bytes exceeds the limit of " +
                                               std::to_string(core.max_payload) + " bytes"};
  outbound_op op;
  op.payload = std::move(payload);
  auto submitted = core.gate.submit(std::move(op), nullptr, link_->actor, false);
  if (submitted.state == write_gate::outcome::failed) return submitted.err;
  return {};
}

std::future<result<void>> channel::write_async(bytes payload) {
  auto done = std::make_shared<std::promise<result<void>>>();
  auto future = done->get_future();
  if (!link_) {
    done->set_value(no_channel());
    return future;
  }
  auto& core = *link_->core;
  if (payload.size() > core.max_payload) {
    done->set_value(error{errc::resource_exhausted, "payload of " + std::to_string(payload.size()) +
                                                        " bytes exceeds the limit of " +
                                                        std::to_string(core.max_payload) +
                                                        " bytes"});
    return future;
  }
  outbound_op op;
  op.payload = std::move(payload);
  auto submitted = core.gate.submit(
      std::move(op), [done](result<void> r) { done->set_value(std::move(r)); }, link_->actor, true);
  if (submitted.state == write_gate::outcome::sent) done->set_value(result<void>{});
  if (submitted.state == write_gate::outcome::failed) done->set_value(submitted.err);
  return future;
}

namespace {
result<void> submit_control(detail::channel_link* link, outbound_op op) {
  if (!link) return no_channel();
  auto submitted = link->core->gate.submit(std::move(op), nullptr, link->actor, true);
  if (submitted.state == write_gate::outcome::failed) return submitted.err;
  return {};
}
}  // namespace

result<void> channel::write_error(errc code, std::string message) {
  if (code == errc::ok) return error{errc::invalid_argument, "write_error needs an error code"};
  outbound_op op;
  op.what = outbound_op::kind::error;
  op.status = error{code, std::move(message)};
  return submit_control(link_.get(), std::move(op));
}

result<void> channel::write_trailers(metadata trailers) {
  outbound_op op;
  op.what = outbound_op::kind::trailers;
  op.trailers = std::move(trailers);
  return submit_control(link_.get(), std::move(op));
}

result<void> channel::close_write() {
  outbound_op op;
  op.what = outbound_op::kind::end;
  return submit_control(link_.get(), std::move(op));
}

void channel::close() {
  outbound_op op;
  op.what = outbound_op::kind::close;
  (void)submit_control(link_.get(), std::move(op));
}

void detail::channel_access::on_failure(channel& ch, std::function<void(const error&)> callback) {
  if (!ch.link_) return;
  ch.link_->core->finished.watch_failure(std::move(callback));
}

void channel::on_finish(std::function<void(const error&)> callback) {
  if (!link_) {
    callback(error{errc::failed_precondition, "empty channel handle"});
    return;
  }
  link_->core->finished.watch(std::move(callback));
}

void channel::cancel() {
  if (!link_) return;
  error reason{errc::cancelled, "cancelled by the application"};
  // Wake local readers and writers now; the actor tells the remote.
  link_->core->inbox.abort(read_result::failure(reason));
  link_->core->gate.fail(reason);
  tell_actor(*link_, cancel_atom::value);
}

std::optional<read_result> detail::channel_access::read_or_time_out(
    channel& ch, std::chrono::milliseconds timeout) {
  if (!ch.link_) return read_result::failure(no_channel());
  auto& core = *ch.link_->core;
  const bool answer_awaited = detail::transport::take_sent_since_read();
  auto next = core.inbox.try_pop();  // the clock is read only when the reader has to wait
  if (!next)
    next = core.inbox.pop(deadline_after(timeout),
                          answer_awaited ? core.where_to_read() : std::nullopt);
  if (!next) return std::nullopt;
  auto item = std::move(*next).take();
  core.consume(item, ch.link_->actor);
  return item;
}

read_result channel::read(std::chrono::milliseconds timeout) {
  auto result = detail::channel_access::read_or_time_out(*this, timeout);
  if (!result) return read_result::failure(timed_out(timeout));
  return std::move(*result);
}

std::optional<read_result> channel::try_read() {
  if (!link_) return read_result::failure(no_channel());
  auto& core = *link_->core;
  auto next = core.inbox.try_pop();
  if (!next) return std::nullopt;
  auto item = std::move(*next).take();
  core.consume(item, link_->actor);
  return item;
}

namespace {

// A callback that calls read_async() again would recurse once per queued message when
// messages are waiting; calls made from inside a callback on the same thread are queued here
// and run by the outermost call instead.
struct async_trampoline {
  bool running = false;
  std::deque<std::function<void()>> pending;
};
thread_local async_trampoline trampoline;

void run_trampolined(std::function<void()> step) {
  if (trampoline.running) {
    trampoline.pending.push_back(std::move(step));
    return;
  }
  trampoline.running = true;
  struct reset {
    ~reset() { trampoline.running = false; }
  } guard;
  step();
  while (!trampoline.pending.empty()) {
    auto next = std::move(trampoline.pending.front());
    trampoline.pending.pop_front();
    next();
  }
}

}  // namespace

namespace {

void read_async_from(const detail::channel_link& link, std::function<void(read_result)> callback,
                     bool nonblocking) {
  auto core = link.core;
  auto actor = link.actor;
  run_trampolined([core, actor, callback = std::move(callback), nonblocking]() mutable {
    auto deliver = [core, actor, callback = std::move(callback)](detail::inbox_item next) {
      auto item = std::move(next).take();
      core->consume(item, actor);
      callback(std::move(item));
    };
    if (nonblocking)
      core->inbox.pop_async(detail::nonblocking_callback<detail::inbox_item>{std::move(deliver)});
    else
      core->inbox.pop_async(std::move(deliver));
  });
}

}  // namespace

void channel::read_async(std::function<void(read_result)> callback) {
  if (!link_) {
    callback(read_result::failure(no_channel()));
    return;
  }
  read_async_from(*link_, std::move(callback), false);
}

void detail::channel_access::read_async_nonblocking(channel& ch,
                                                    std::function<void(read_result)> callback) {
  if (!ch.link_) {
    callback(read_result::failure(no_channel()));
    return;
  }
  read_async_from(*ch.link_, std::move(callback), true);
}

std::future<read_result> channel::read_future() {
  auto done = std::make_shared<std::promise<read_result>>();
  auto future = done->get_future();
  read_async([done](read_result item) { done->set_value(std::move(item)); });
  return future;
}

const codec& channel::payload_codec() const {
  if (!link_) throw exception(no_channel());
  return *link_->core->payload_codec;
}

channel_meta channel::meta() const {
  if (!link_) return {};
  return link_->core->meta_copy();
}

channel channel::open(std::string service, metadata headers) {
  if (!link_) return channel{};
  error codec_error;
  auto child = detail::make_opened_link(link_->context, link_->peer, std::move(service),
                                        std::move(headers), link_->actor, &codec_error);
  if (!codec_error.ok())
    caf::anon_send(child->actor, detail::fail_atom::value, codec_error);
  else
    caf::anon_send(
        link_->actor, detail::nested_atom::value,
        std::make_shared<detail::channel_ref>(detail::channel_ref{child->core, child->actor}));
  return channel{std::move(child)};
}

result<channel> channel::accept(std::chrono::milliseconds timeout) {
  if (!link_) return no_channel();
  auto next = link_->core->nested().pop(deadline_after(timeout));
  if (!next) return timed_out(timeout);
  if (!*next) return error{errc::failed_precondition, "the channel is closed"};
  return channel{detail::make_incoming_link(link_->context, link_->peer, **next)};
}

void channel::accept_async(std::function<void(result<channel>)> callback) {
  if (!link_) return callback(no_channel());
  auto context = link_->context;
  auto peer = link_->peer;
  link_->core->nested().pop_async(
      [context, peer, callback = std::move(callback)](detail::channel_ref_ptr next) {
        if (!next) return callback(error{errc::failed_precondition, "the channel is closed"});
        callback(channel{detail::make_incoming_link(context, peer, *next)});
      });
}

caf::actor channel::actor() const {
  if (!link_) return {};
  link_->core->actor_needed();  // what an actor sends it must reach it
  return link_->actor;
}

}  // namespace duplex
