#include "actors/channel_core.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

#include "actors/channel_finish.hpp"
#include "actors/channel_table.hpp"
#include "actors/messages.hpp"

namespace duplex::detail {

namespace {
thread_local bool in_nonblocking_scope = false;
}  // namespace

nonblocking_scope::nonblocking_scope() : outer_(in_nonblocking_scope) {
  in_nonblocking_scope = true;
}
nonblocking_scope::~nonblocking_scope() {
  in_nonblocking_scope = outer_;
}
bool nonblocking_scope::active() {
  return in_nonblocking_scope;
}

std::size_t outbound_op::cost() const {
  return what == kind::data ? payload.size() + wire::data_frame_overhead : 0;
}

bool write_gate::fits(const outbound_op& op) const {
  if (op.what != outbound_op::kind::data) return true;  // ordering only, no credit
  return bytes_ >= static_cast<std::int64_t>(op.cost()) && messages_ >= 1;
}

bool write_gate::send_direct(const outbound_op& op, const caf::actor& target) {
  using kind = outbound_op::kind;
  if (!direct_ || op.what == kind::close || !outbox_.empty() || actor_holds_ops_) return false;
  // Encoded into this thread's buffer, which the transport copies: a small message costs no
  // allocation. (A large one's buffer is handed over instead and the next starts afresh.)
  thread_local std::string frame;
  frame.clear();
  const auto channel = direct_->channel_id;
  switch (op.what) {
    case kind::data:
      if (op.payload.size() > direct_->remote_max_payload) return false;  // the actor refuses it
      wire::encode_data(channel, op.payload.data(), op.payload.size(), frame);
      direct_done_.cost += static_cast<std::int64_t>(op.cost());
      break;
    case kind::trailers: {
      wire::frame trailers;
      trailers.kind = wire::frame_kind::trailers;
      trailers.channel = channel;
      trailers.headers = op.trailers;
      wire::encode(trailers, frame);
      break;
    }
    case kind::end:
      wire::encode_simple(wire::frame_kind::end, channel, frame);
      break;
    case kind::error:
      wire::encode_status(wire::frame_kind::error, channel, op.status, frame);
      break;
    case kind::close:
      return false;
  }
  // The peer's context, which every handle holds, keeps the transport alive after reset().
  transport* net = direct_->net.get();
  const auto conn = direct_->conn;
  std::optional<direct_route> route;
  if (op.what == kind::end || op.what == kind::error) {
    direct_done_.ended = true;
    route = std::move(direct_);
    direct_.reset();
  }
  constexpr std::size_t copy_limit = 4096;
  if (frame.size() <= copy_limit)
    net->send_copy(conn, frame.data(), frame.size(), op.cost());
  else
    net->send(conn, std::move(frame), op.cost());
  // Under the gate's lock, after `ended` was recorded: if the remote's end is not there yet,
  // whoever applies it finishes the channel (the transport thread, or the actor, which finds
  // this end with take_direct()).
  if (route) {
    std::lock_guard<std::mutex> lock(core_->receive_mutex);
    core_->received.local_ended_directly = true;
    if (core_->received.ended) {
      if (core_->claim_finish_locked())
        claimed_ = std::move(route);
      else
        caf::anon_send(target, out_atom::value);
    }
  }
  return true;
}

void write_gate::dispatch(outbound_op op, const caf::actor& target) {
  if (op.what == outbound_op::kind::data) {
    bytes_ -= static_cast<std::int64_t>(op.cost());
    messages_ -= 1;
  }
  if (send_direct(op, target)) return;
  // Only the first operation of a burst wakes the actor: it takes everything there is then.
  const bool wake = outbox_.empty();
  outbox_.push_back(std::move(op));
  if (wake) caf::anon_send(target, out_atom::value);
}

std::vector<outbound_op> write_gate::take_outbox() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!outbox_.empty()) actor_holds_ops_ = true;
  return std::exchange(outbox_, {});
}

void write_gate::settle(bool holds_nothing) {
  std::lock_guard<std::mutex> lock(mutex_);
  actor_holds_ops_ = !holds_nothing;
}

void write_gate::open_direct(direct_route route) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!failed_) direct_ = std::move(route);
}

void write_gate::close_direct() {
  std::lock_guard<std::mutex> lock(mutex_);
  direct_.reset();
}

write_gate::direct_report write_gate::take_direct() {
  std::lock_guard<std::mutex> lock(mutex_);
  return std::exchange(direct_done_, {});
}

write_gate::submission write_gate::submit(outbound_op op, completion done, const caf::actor& target,
                                          bool may_wait) {
  const bool ends_stream = op.what == outbound_op::kind::end ||
                           op.what == outbound_op::kind::error ||
                           op.what == outbound_op::kind::close;
  std::unique_lock<std::mutex> lock(mutex_);
  if (failed_) return {outcome::failed, 0, *failed_};
  if (write_closed_ && op.what != outbound_op::kind::close)
    return {outcome::failed, 0, {errc::failed_precondition, "this side of the channel is closed"}};
  if (trailers_written_ &&
      (op.what == outbound_op::kind::data || op.what == outbound_op::kind::trailers))
    return {outcome::failed,
            0,
            {errc::failed_precondition, "trailers were written: only the end may follow"}};
  if (op.what == outbound_op::kind::trailers) trailers_written_ = true;
  if (waiting_.empty() && fits(op)) {
    dispatch(std::move(op), target);
    if (ends_stream) write_closed_ = true;
    if (claimed_) {  // this write's END finished the channel: the rest after the lock
      auto route = std::exchange(claimed_, std::nullopt);
      lock.unlock();
      finish_without_actor(*core_, *route->table, route->net.get(), route->conn, route->channel_id,
                           route->connection_credit_threshold);
    }
    return {outcome::sent, 0, {}};
  }
  if (!may_wait)
    return {outcome::failed, 0, {errc::resource_exhausted, "the channel's send window is full"}};
  auto ticket = ++last_ticket_;
  waiting_.push_back({ticket, std::move(op), std::move(done)});
  if (ends_stream) write_closed_ = true;
  return {outcome::queued, ticket, {}};
}

bool write_gate::withdraw(std::uint64_t ticket) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto what = outbound_op::kind::data;
  if (!waiting_.erase_first([&](const waiting_op& w) {
        what = w.op.what;
        return w.ticket == ticket;
      }))
    return false;
  // A withdrawn end/error reopens the write side.
  if (what != outbound_op::kind::data && what != outbound_op::kind::trailers) write_closed_ = false;
  return true;
}

void write_gate::grant(std::int64_t bytes, std::int64_t messages, const caf::actor& target) {
  std::vector<completion> completed;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    bytes_ += bytes;
    messages_ += messages;
    if (failed_) return;
    while (!waiting_.empty() && fits(waiting_.front().op)) {
      auto next = std::move(waiting_.front());
      waiting_.pop_front();
      dispatch(std::move(next.op), target);
      if (next.done) completed.push_back(std::move(next.done));
    }
  }
  // No claim here: the actor grants after it started, and prepare_attached before the direct
  // route opens (under the table's lock, which finishing takes).
  for (auto& done : completed) done(result<void>{});
}

void write_gate::fail(duplex::error reason) {
  lazy_fifo<waiting_op> waiting;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (failed_) return;
    failed_ = std::make_unique<duplex::error>(reason);
    direct_.reset();
    waiting = waiting_.take_all();
  }
  waiting.for_each([&](waiting_op& w) {
    if (w.done) w.done(reason);
  });
}

std::size_t credit_return_threshold(std::size_t window, std::size_t max_payload) {
  const std::size_t largest_message = max_payload + wire::data_frame_overhead;
  const std::size_t spare = window > largest_message ? window - largest_message : 0;
  return std::max<std::size_t>(1, std::min(window / 4, spare + 1));
}

applied channel_core::apply_locked(wire::frame& f, std::vector<inbox_item>& arrived,
                                   const payload_slab& slab) {
  using wire::frame_kind;
  auto refuse = [](errc code, std::string why) {
    return applied{applied::outcome::refused, {code, std::move(why)}};
  };
  auto& in = received;
  switch (f.kind) {
    case frame_kind::data: {
      if (in.ended) return refuse(errc::internal, "DATA after the end of stream");
      if (in.trailers_received) return refuse(errc::internal, "DATA after TRAILERS");
      const auto size = f.payload_size();
      if (size > max_payload)
        return refuse(errc::resource_exhausted, "payload of " + std::to_string(size) +
                                                    " bytes exceeds the limit of " +
                                                    std::to_string(max_payload) + " bytes");
      auto cost = static_cast<std::int64_t>(size + wire::data_frame_overhead);
      if (cost > in.credit)
        return refuse(errc::resource_exhausted, "the sender exceeded its credit window");
      in.credit -= cost;
      if (f.borrowed && slab && slab->capacity() - slab->size() >= size) {
        const auto at = slab->size();
        slab->resize(at + size);  // within capacity: earlier slices stay where they are
        std::memcpy(slab->data() + at, f.borrowed, size);
        arrived.emplace_back(slab, at, size);
      } else {
        f.own_payload();
        arrived.push_back(read_result::message(std::move(f.payload)));
      }
      return {};
    }
    case frame_kind::trailers: {
      if (in.ended || in.trailers_received)
        return refuse(errc::internal, "TRAILERS after trailers or the end of stream");
      in.trailers_received = true;
      std::lock_guard<std::mutex> lock(meta_mutex);
      meta.trailers = std::move(f.headers);
      return {};
    }
    case frame_kind::end:
    case frame_kind::error:
      if (in.ended)
        return refuse(errc::internal,
                      std::string(wire::to_string(f.kind)) + " after the end of stream");
      if (f.kind == frame_kind::error && f.status.ok())
        return refuse(errc::internal, "ERROR with status ok");
      in.ended = true;
      in.direct = false;
      return {applied::outcome::ended, f.kind == frame_kind::error ? f.status : duplex::error{}};
    default:
      return refuse(errc::internal, "unexpected frame on a channel");
  }
}

std::size_t channel_core::note_consumed(const read_result& item) {
  // Atomic rather than locked: readers on several threads may race, and whichever takes the
  // sum returns all of it, so no credit is lost or returned twice.
  const std::size_t cost = item.is_message() ? item->size() + wire::data_frame_overhead : 0;
  const std::size_t now = consumed.fetch_add(cost, std::memory_order_relaxed) + cost;
  // At the end of the stream the rest goes back too: it still holds connection credit.
  if (item.is_message() && now < credit_threshold) return 0;
  return consumed.exchange(0, std::memory_order_relaxed);
}

void channel_core::consume(const read_result& item, const caf::actor& actor) {
  const auto credit = note_consumed(item);
  if (credit == 0) return;
  std::optional<direct_route> route;
  bool reopen = false;
  {
    std::lock_guard<std::mutex> lock(receive_mutex);
    // Finished without its actor: its lane's connection credit went back in full.
    if (received.finished_without_actor) return;
    if (home) {
      route = home;
      // While the remote may still write, its window reopens (before the CREDIT leaves).
      if (!received.ended) {
        received.credit += static_cast<std::int64_t>(credit);
        reopen = true;
      }
    }
  }
  if (!route) {  // the channel's actor knows where it lives
    caf::anon_send(actor, credit_atom::value, std::uint64_t{credit});
    return;
  }
  std::string frames;
  if (reopen) wire::encode_value(wire::frame_kind::credit, route->channel_id, credit, frames);
  if (auto back = route->table->consumed(route->conn, route->channel_id, credit,
                                         route->connection_credit_threshold))
    wire::encode_value(wire::frame_kind::credit, 0, back, frames);
  if (!frames.empty()) route->net->send_credit(route->conn, std::move(frames));
}

std::optional<read_source> channel_core::where_to_read() const {
  std::lock_guard<std::mutex> lock(receive_mutex);
  if (!home || !received.direct || received.ended) return std::nullopt;
  return detail::read_source{home->net, home->conn};
}

channel_core::nested_queue& channel_core::nested() {
  std::lock_guard<std::mutex> lock(meta_mutex);
  if (!nested_) {
    nested_ = std::make_unique<nested_queue>();
    if (nested_closed_) nested_->close(nullptr);
  }
  return *nested_;
}

void channel_core::close_nested() {
  std::unique_lock<std::mutex> lock(meta_mutex);
  nested_closed_ = true;
  if (!nested_) return;
  auto& queue = *nested_;  // never reset once made
  lock.unlock();
  queue.close(nullptr);  // runs waiting readers' callbacks: not under meta_mutex
}

bool channel_core::claim_finish_locked() {
  auto& r = received;
  if (!r.ended || !r.local_ended_directly || r.actor_started || r.actor_needed ||
      r.wakes_in_flight > 0 || r.actor_reader || r.finished_without_actor || finished.watched())
    return false;
  {
    // Someone waits for nested channels (accept_async callbacks run where it closes).
    std::lock_guard<std::mutex> lock(meta_mutex);
    if (nested_) return false;
  }
  r.finished_without_actor = true;
  // Reported now, with no watcher to run: one set from here on runs on its own thread.
  finished.fire({});
  return true;
}

void channel_core::actor_needed() {
  std::lock_guard<std::mutex> lock(receive_mutex);
  received.actor_needed = true;
}

bool finish_signal::watched() {
  std::lock_guard<std::mutex> lock(mutex_);
  return !watchers_.empty();
}

void finish_signal::fire(duplex::error reason) {
  std::vector<watcher> to_run;
  std::vector<watcher> failure_watchers;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (reason_) return;
    reason_ = std::make_unique<duplex::error>(reason);
    to_run.swap(watchers_);
    failure_watchers.swap(failure_watchers_);
  }
  if (!reason.ok())
    for (auto& w : failure_watchers) w(reason);
  for (auto& w : to_run) w(reason);
}

void finish_signal::watch(watcher w) {
  add(std::move(w), /*failures_only=*/false);
}

void finish_signal::watch_failure(watcher w) {
  add(std::move(w), /*failures_only=*/true);
}

void finish_signal::add(watcher w, bool failures_only) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!reason_) {
    (failures_only ? failure_watchers_ : watchers_).push_back(std::move(w));
    return;
  }
  auto reason = *reason_;
  lock.unlock();
  if (!failures_only || !reason.ok()) w(reason);
}

}  // namespace duplex::detail
