#include "actors/channel_actor.hpp"

#include <deque>
#include <vector>

namespace duplex::detail {

namespace {

using wire::frame_kind;

// Credit a writer may hold: far beyond any window, and far from overflowing.
constexpr std::uint64_t max_credit = std::uint64_t{1} << 62;

// Runs when a sent channel's actor exits. A channel that finished has released its lane
// already; one whose actor ended otherwise (a reader's callback threw in it) still has it: the
// lane goes, the connection credit its DATA held comes back, the remote gets CANCEL, and local
// readers and writers fail with unavailable.
void release_abandoned_lane(peer_context& context, const std::shared_ptr<channel_core>& core,
                            connection_id conn, std::uint64_t id) {
  std::uint64_t held = 0;
  {
    auto lock = context.channels->lock();
    auto* lanes = context.channels->find(conn);
    if (!lanes) return;
    auto it = lanes->channels.find(id);
    if (it == lanes->channels.end() || it->second.core != core) return;
    held = it->second.forwarded - it->second.returned;
    --lanes->accepted;
    lanes->channels.erase(it);
  }
  const duplex::error stopped{errc::unavailable, "the channel's actor stopped"};
  {
    std::lock_guard<std::mutex> lock(core->receive_mutex);
    core->received.direct = false;
    core->received.ended = true;
  }
  core->gate.fail(stopped);
  core->inbox.abort(read_result::failure(stopped));
  std::string cancel;
  wire::encode_status(frame_kind::cancel, id, {errc::cancelled, "the channel's actor stopped"},
                      cancel);
  context.net->send(conn, std::move(cancel));  // behind the channel's DATA already queued
  if (held == 0) return;
  std::string credit;
  wire::encode_value(frame_kind::credit, 0, held, credit);
  context.net->send_credit(conn, std::move(credit));
}

struct channel_state {
  channel_spawn_args args;
  // Where the channel lives once sent.
  bool attached = false;
  attachment where;
  // This side's stream.
  lazy_fifo<outbound_op> queued;  // waiting for a connection or for credit
  std::int64_t send_credit = 0;
  bool local_done = false;
  // The remote's stream: its state is the core's `received`, shared with the transport thread.
  caf::actor subscriber;
  // Nested channels opened here before the connection was known. (Children end with this
  // channel through their monitor on its actor: no list of them is kept.)
  std::vector<channel_ref_ptr> nested_waiting;
  bool finished = false;
  // While the actor starts (lazy_init: inside its first message's handling), it does not
  // finish: CAF would drop that message. It checks again with a message to itself.
  bool starting = false;
  bool check_after_start = false;
  bool quit_when_woken = false;  // finished with wake-ups in flight (see receive_state)
  std::string buffer;  // frames for the next transport send; moved out, so it keeps no capacity
  std::size_t buffer_cost = 0;  // credit the DATA frames in `buffer` cost
};

class channel_behavior {
 public:
  channel_behavior(caf::event_based_actor* self, channel_state* st) : self_(self), st_(*st) {}

  // Messages of one shape share a handler that tells them apart by atom: every handler is
  // stored in each channel's behavior, and an idle channel should stay small.
  caf::behavior make() {
    return {
        [this](attach_atom, attachment where) { attach(std::move(where)); },
        [this](inbound_atom, frame_batch& batch) {
          std::vector<inbox_item> arrived;  // handed to readers together: one lock a batch
          arrived.reserve(batch.frames.size());
          for (auto& f : batch.frames) inbound(f, arrived);
          hand_over(arrived);
          // Only after the whole batch: a direct END taken in its middle would finish the
          // channel before it refused what broke the rules after the remote's end.
          if (!st_.finished) maybe_finish();
          // Only now may the transport thread deliver this channel's next frames itself.
          if (st_.attached)
            st_.args.context->channels->applied_via_actors(st_.where.conn, st_.where.channel_id,
                                                           batch.frames.size());
        },
        [this](wake_atom, deferred_calls& calls, bool remote_ended) {
          // The transport thread applied frames: readers' callbacks run here, not there.
          for (auto& call : calls) call();
          std::uint32_t still_in_flight;
          {
            auto& core = *st_.args.core;
            std::lock_guard<std::mutex> lock(core.receive_mutex);
            still_in_flight = --core.received.wakes_in_flight;
          }
          if (remote_ended) maybe_finish();
          if (st_.quit_when_woken && still_in_flight == 0) self_->quit();
        },
        [this](credit_atom, std::uint64_t bytes) { return_credit(bytes); },
        [this](caf::atom_value signal) -> caf::result<void> {
          if (!on_signal(signal)) return caf::sec::unexpected_message;
          return caf::unit;
        },
        [this](caf::atom_value why, duplex::error reason) -> caf::result<void> {
          if (why == conn_down_atom::value)
            fail_locally(std::move(reason));
          else if (why == fail_atom::value)
            abort(std::move(reason));
          else
            return caf::sec::unexpected_message;
          return caf::unit;
        },
        [this](caf::atom_value which, channel_ref_ptr child) -> caf::result<void> {
          if (which == nested_atom::value)
            open_nested(std::move(child));
          else if (which == nested_in_atom::value)
            st_.args.core->nested().push(std::move(child));
          else
            return caf::sec::unexpected_message;
          return caf::unit;
        },
        [this](subscribe_atom, caf::actor reader) { subscribe(std::move(reader)); },
        // Actor face writes: the response waits for room in the window.
        [this](write_atom, bytes& payload) -> caf::result<void> {
          outbound_op op;
          op.payload = std::move(payload);
          if (op.payload.size() > st_.args.context->options.max_payload)
            return caf::make_error(caf::sec::invalid_argument, "payload exceeds max_payload");
          auto promise = self_->make_response_promise();
          auto submitted = st_.args.core->gate.submit(
              std::move(op),
              [promise](result<void> r) mutable {
                if (r)
                  promise.deliver(caf::unit);
                else
                  promise.deliver(
                      caf::make_error(caf::sec::request_receiver_down, r.error().to_string()));
              },
              caf::actor_cast<caf::actor>(self_), true);
          if (submitted.state == write_gate::outcome::sent) promise.deliver(caf::unit);
          if (submitted.state == write_gate::outcome::failed)
            promise.deliver(
                caf::make_error(caf::sec::request_receiver_down, submitted.err.to_string()));
          return caf::delegated<void>();
        },
        [this](error_atom, std::uint32_t code, std::string& message) {
          submit_control(outbound_op::kind::error, {errc_from_wire(code), std::move(message)}, {});
        },
        [this](trailers_atom, metadata& trailers) {
          submit_control(outbound_op::kind::trailers, {}, std::move(trailers));
        },
    };
  }

  void start_attached(attachment where) { attach(std::move(where)); }

 private:
  // False for an atom the channel does not know (the actor face is public).
  bool on_signal(caf::atom_value signal) {
    if (signal == out_atom::value && st_.finished) {
      // Started after the thread that completed the channel finished it (channel_finish.hpp).
      quit_once_woken();
    } else if (signal == out_atom::value) {
      for (auto& op : st_.args.core->gate.take_outbox()) {
        if (st_.local_done && op.what != outbound_op::kind::close) continue;
        st_.queued.push_back(std::move(op));
      }
      flush();
    } else if (signal == cancel_atom::value) {
      abort({errc::cancelled, "cancelled by the application"});
    } else if (signal == dropped_atom::value) {
      take_direct_writes();
      if (st_.local_done && st_.args.core->remote_ended()) return true;
      // With this side ended, the remote's stream is simply no longer read (like close()).
      abort({errc::cancelled, st_.local_done
                                  ? "the remote closed the channel before reading to the end"
                                  : "the channel handle was dropped without closing it"});
    } else if (signal == parent_end_atom::value) {
      abort({errc::cancelled, "the enclosing channel closed"});
    } else if (signal == end_atom::value) {
      submit_control(outbound_op::kind::end, {}, {});
    } else {
      return false;
    }
    return true;
  }

  caf::actor self_handle() { return caf::actor_cast<caf::actor>(self_); }
  transport& net() { return *st_.args.context->net; }
  const peer_options& options() { return st_.args.context->options; }

  void submit_control(outbound_op::kind what, duplex::error status, metadata trailers) {
    outbound_op op;
    op.what = what;
    op.status = std::move(status);
    op.trailers = std::move(trailers);
    st_.args.core->gate.submit(std::move(op), nullptr, self_handle(), true);
  }

  void attach(attachment where) {
    if (st_.finished) return;
    st_.attached = true;
    st_.where = std::move(where);
    self_->attach_functor([context = st_.args.context, core = st_.args.core, conn = st_.where.conn,
                           id = st_.where.channel_id](const caf::error&) {
      release_abandoned_lane(*context, core, conn, id);
    });
    st_.send_credit = static_cast<std::int64_t>(st_.where.remote_window);
    // Whoever attached the channel readied its core (prepare_attached): only this actor's
    // state is left, and an idle channel should hold the remote's id and key once.
    st_.where.remote_peer_id = {};
    st_.where.remote_key = {};
    for (auto& child : st_.nested_waiting) open_nested(std::move(child));
    st_.nested_waiting.clear();
    flush();
    if (!st_.local_done && !st_.finished)
      st_.args.core->gate.open_direct({st_.args.context->net, st_.where.conn, st_.where.channel_id,
                                       st_.where.remote_max_payload, st_.args.context->channels,
                                       connection_credit_threshold()});
  }

  void send_buffer() {
    if (st_.buffer.empty()) return;
    net().send(st_.where.conn, std::move(st_.buffer), st_.buffer_cost);
    st_.buffer = {};
    st_.buffer_cost = 0;
  }

  // Sends what the application queued, as far as credit goes, and tells the gate whether
  // writers may use the direct route (nothing of this side's stream held here).
  void flush() {
    auto& gate = st_.args.core->gate;
    if (st_.attached) {
      auto direct = gate.take_direct();
      st_.send_credit -= direct.cost;
      if (direct.ended) st_.local_done = true;
    }
    flush_queued();
    gate.settle(st_.queued.empty());
  }

  void flush_queued() {
    if (!st_.attached || st_.finished) {
      send_buffer();
      return;
    }
    while (!st_.queued.empty()) {
      auto& op = st_.queued.front();
      if (st_.local_done && op.what != outbound_op::kind::close) {
        st_.queued.pop_front();  // nothing may follow the end of this side's stream
        continue;
      }
      switch (op.what) {
        case outbound_op::kind::data: {
          if (op.payload.size() > st_.where.remote_max_payload) {
            auto size = op.payload.size();
            send_buffer();
            abort({errc::resource_exhausted,
                   "payload of " + std::to_string(size) + " bytes exceeds the remote's limit of " +
                       std::to_string(st_.where.remote_max_payload) + " bytes"});
            return;
          }
          auto cost = static_cast<std::int64_t>(op.cost());
          if (st_.send_credit < cost) {
            send_buffer();
            return;
          }
          st_.send_credit -= cost;
          st_.buffer_cost += static_cast<std::size_t>(cost);
          wire::encode_data(st_.where.channel_id, op.payload.data(), op.payload.size(), st_.buffer);
          break;
        }
        case outbound_op::kind::trailers: {
          wire::frame f;
          f.kind = frame_kind::trailers;
          f.channel = st_.where.channel_id;
          f.headers = std::move(op.trailers);
          wire::encode(f, st_.buffer);
          break;
        }
        case outbound_op::kind::end:
          wire::encode_simple(frame_kind::end, st_.where.channel_id, st_.buffer);
          st_.local_done = true;
          break;
        case outbound_op::kind::error:
          wire::encode_status(frame_kind::error, st_.where.channel_id, op.status, st_.buffer);
          st_.local_done = true;
          break;
        case outbound_op::kind::close:
          if (!st_.local_done)
            wire::encode_simple(frame_kind::end, st_.where.channel_id, st_.buffer);
          st_.local_done = true;
          if (!st_.args.core->remote_ended()) {
            st_.queued.clear();
            abort({errc::cancelled, "the remote closed the channel"});
            return;
          }
          break;
      }
      st_.queued.pop_front();
    }
    send_buffer();
    maybe_finish();
  }

  std::uint64_t connection_credit_threshold() {
    return credit_return_threshold(options().connection_window, options().max_payload);
  }

  void send_connection_credit(std::uint64_t bytes) {
    if (bytes == 0) return;
    std::string credit;
    wire::encode_value(frame_kind::credit, 0, bytes, credit);
    net().send_credit(st_.where.conn, std::move(credit));
  }

  // The reader consumed `bytes`: reopen the channel's window (while the remote may still
  // write) and, through the peer actor, the connection's.
  void return_credit(std::uint64_t bytes) {
    if (!st_.attached || st_.finished) return;
    bool reopen = false;
    {
      auto& core = *st_.args.core;
      std::lock_guard<std::mutex> lock(core.receive_mutex);
      if (!core.received.ended) {
        core.received.credit += static_cast<std::int64_t>(bytes);
        reopen = true;
      }
    }
    if (reopen) {
      std::string credit;
      wire::encode_value(frame_kind::credit, st_.where.channel_id, bytes, credit);
      net().send_credit(st_.where.conn, std::move(credit));
    }
    send_connection_credit(st_.args.context->channels->consumed(
        st_.where.conn, st_.where.channel_id, bytes, connection_credit_threshold()));
  }

  // `arrived` collects the batch's messages for readers; anything else first hands them over.
  void inbound(wire::frame& f, std::vector<inbox_item>& arrived) {
    if (st_.finished) return;
    if (f.kind != frame_kind::data) hand_over(arrived);
    auto& core = *st_.args.core;
    switch (f.kind) {
      case frame_kind::data:
      case frame_kind::trailers:
      case frame_kind::end:
      case frame_kind::error: {
        std::unique_lock<std::mutex> lock(core.receive_mutex);
        auto result = core.apply_locked(f, arrived);
        lock.unlock();
        if (result.what == applied::outcome::refused) {
          hand_over(arrived);
          return violation(std::move(result.status));
        }
        if (result.what == applied::outcome::ended) {
          if (result.status.ok())
            end_remote(read_result::end(), {});
          else
            end_remote(read_result::failure(result.status), result.status);
          finish_if_done();
        }
        return;
      }
      case frame_kind::credit:
        if (f.value > max_credit ||
            st_.send_credit > static_cast<std::int64_t>(max_credit - f.value))
          return violation({errc::internal, "CREDIT beyond 2^62 bytes"});
        st_.send_credit += static_cast<std::int64_t>(f.value);
        core.gate.grant(static_cast<std::int64_t>(f.value), 0, self_handle());
        flush();
        return;
      case frame_kind::cancel:
        // The remote aborted: nothing more is delivered and nothing is sent back.
        fail_locally(f.status, /*drop_queued=*/true);
        return;
      default:
        return violation({errc::internal, "unexpected frame on a channel"});
    }
  }

  void hand_over(std::vector<inbox_item>& arrived) {
    if (arrived.empty()) return;
    if (!st_.subscriber) {
      st_.args.core->inbox.push_all(arrived);
      return;
    }
    for (auto& item : arrived) deliver(*std::move(item).take());
    arrived.clear();
  }

  void deliver(bytes payload) {
    if (!st_.subscriber) {
      st_.args.core->inbox.push(read_result::message(std::move(payload)));
      return;
    }
    auto cost = payload.size() + wire::data_frame_overhead;
    self_
        ->request(st_.subscriber, caf::infinite, data_atom::value, self_handle(),
                  std::move(payload))
        .then([this, cost] { return_credit(cost); },
              [this](caf::error&) {
                abort({errc::cancelled, "the reading actor failed"});
              });
  }

  void end_remote(read_result terminal, const duplex::error& status) {
    if (!st_.subscriber) {
      st_.args.core->inbox.close(std::move(terminal));
      return;
    }
    if (terminal.is_end())
      self_->send(st_.subscriber, end_atom::value, self_handle(),
                  st_.args.core->meta_copy().trailers);
    else
      self_->send(st_.subscriber, error_atom::value, self_handle(),
                  static_cast<std::uint32_t>(status.code), status.message);
  }

  void subscribe(caf::actor reader) {
    st_.subscriber = std::move(reader);
    {
      // From here on this actor applies every frame: the transport thread has finished any
      // hand-over it had begun, so the inbox holds all that came before.
      auto& core = *st_.args.core;
      std::lock_guard<std::mutex> lock(core.receive_mutex);
      core.received.direct = false;
      core.received.actor_reader = true;
    }
    // Hand over what arrived before the subscription.
    auto& inbox = st_.args.core->inbox;
    while (auto next = inbox.try_pop()) {
      auto item = std::move(*next).take();
      if (item.is_message()) {
        deliver(*std::move(item));
      } else {
        if (item.is_end()) {
          self_->send(st_.subscriber, end_atom::value, self_handle(),
                      st_.args.core->meta_copy().trailers);
        } else {
          self_->send(st_.subscriber, error_atom::value, self_handle(),
                      static_cast<std::uint32_t>(item.error().code), item.error().message);
        }
        break;
      }
    }
  }

  void open_nested(channel_ref_ptr child) {
    if (!st_.attached) {
      st_.nested_waiting.push_back(std::move(child));
      return;
    }
    self_->send(st_.args.peer, open_on_atom::value, st_.where.conn, st_.where.channel_id,
                std::move(child));
  }

  // A rule broken by the remote: end this channel at both ends with `reason`.
  void violation(duplex::error reason) { abort(std::move(reason)); }

  // Aborts both directions and tells the remote (CANCEL) if the channel was sent.
  void abort(duplex::error reason) {
    if (st_.finished) return;
    if (st_.attached) {
      st_.args.core->gate.close_direct();  // no DATA may follow the CANCEL
      wire::encode_status(frame_kind::cancel, st_.where.channel_id, reason, st_.buffer);
      send_buffer();
    }
    fail_locally(std::move(reason), /*drop_queued=*/true);
  }

  // Ends both directions locally without telling the remote.
  void fail_locally(duplex::error reason, bool drop_queued = false) {
    if (st_.finished) return;
    auto& core = *st_.args.core;
    core.gate.fail(reason);
    bool remote_was_open;
    {
      std::lock_guard<std::mutex> lock(core.receive_mutex);
      remote_was_open = !core.received.ended;
      core.received.ended = true;
      core.received.direct = false;
    }
    if (remote_was_open) {
      if (st_.subscriber) {
        end_remote(read_result::failure(reason), reason);
      } else if (drop_queued) {
        core.inbox.abort(read_result::failure(reason));
      } else {
        core.inbox.close(read_result::failure(reason));  // what arrived stays readable
      }
    }
    st_.local_done = true;
    st_.queued.clear();
    finish(std::move(reason));
  }

  // This side may have ended by a direct write that did not wake this actor (write_gate).
  void take_direct_writes() {
    if (st_.local_done || !st_.attached) return;
    auto direct = st_.args.core->gate.take_direct();
    st_.send_credit -= direct.cost;
    if (direct.ended) st_.local_done = true;
  }

  void maybe_finish() {
    take_direct_writes();
    finish_if_done();
  }

  void finish_if_done() {
    if (!st_.local_done || !st_.args.core->remote_ended()) return;
    if (st_.starting) {
      st_.check_after_start = true;
      return;
    }
    finish();
  }

  void finish(duplex::error reason = {}) {
    if (st_.finished) return;
    st_.finished = true;
    st_.nested_waiting.clear();
    st_.args.core->close_nested();
    st_.args.core->gate.fail({errc::failed_precondition, "the channel is closed"});
    if (st_.attached)
      send_connection_credit(st_.args.context->channels->release(
          st_.where.conn, st_.where.channel_id, connection_credit_threshold()));
    st_.args.core->finished.fire(std::move(reason));
    quit_once_woken();
  }

  // Readers' callbacks still on their way here keep the actor alive (see receive_state).
  void quit_once_woken() {
    {
      auto& core = *st_.args.core;
      std::lock_guard<std::mutex> lock(core.receive_mutex);
      st_.quit_when_woken = core.received.wakes_in_flight > 0;
    }
    if (!st_.quit_when_woken) self_->quit();
  }

  caf::event_based_actor* self_;
  channel_state& st_;
};

struct channel_actor_state {
  channel_state channel;
  std::unique_ptr<channel_behavior> behavior;
  // An actor stopped from outside (system shutdown) still tells the watchers.
  ~channel_actor_state() {
    if (channel.args.core)
      channel.args.core->finished.fire({errc::unavailable, "the channel's actor stopped"});
  }
};

caf::behavior channel_actor(caf::stateful_actor<channel_actor_state>* self, channel_spawn_args args,
                            std::optional<attachment> where) {
  self->state.channel.args = std::move(args);
  self->state.behavior = std::make_unique<channel_behavior>(self, &self->state.channel);
  // A nested channel ends with its parent, even when the parent is gone before it could say so.
  if (auto& parent = self->state.channel.args.parent) {
    self->monitor(parent);
    self->set_down_handler([self](caf::down_msg&) {
      caf::anon_send(caf::actor_cast<caf::actor>(self), parent_end_atom::value);
    });
  }
  auto behavior = self->state.behavior->make();
  bool finished_without_actor;
  {
    auto& core = *self->state.channel.args.core;
    std::lock_guard<std::mutex> lock(core.receive_mutex);
    core.received.actor_started = true;
    finished_without_actor = core.received.finished_without_actor;
  }
  if (finished_without_actor) {
    // The channel finished without this actor (channel_finish.hpp): it handles the message
    // that started it as a finished channel would (a late subscriber still gets what arrived),
    // then quits.
    self->state.channel.finished = true;
    self->state.channel.local_done = true;
    self->send(self, out_atom::value);
    return behavior;
  }
  if (where) {
    self->state.channel.starting = true;
    self->state.behavior->start_attached(std::move(*where));
    self->state.channel.starting = false;
    if (self->state.channel.check_after_start) self->send(self, out_atom::value);
  }
  return behavior;
}

}  // namespace

namespace {

// A channel actor starts at its first message (no scheduling job per spawn), except a nested
// one: it must watch its parent from the start, even if no message ever reaches it.
caf::actor spawn_channel_actor(channel_spawn_args args, std::optional<attachment> where) {
  auto& system = *args.context->system;
  if (args.parent)
    return system.spawn<caf::hidden>(channel_actor, std::move(args), std::move(where));
  return system.spawn<caf::hidden + caf::lazy_init>(channel_actor, std::move(args),
                                                    std::move(where));
}

}  // namespace

caf::actor spawn_channel(channel_spawn_args args) {
  return spawn_channel_actor(std::move(args), std::nullopt);
}

caf::actor spawn_accepted_channel(channel_spawn_args args, attachment where) {
  return spawn_channel_actor(std::move(args), std::move(where));
}

}  // namespace duplex::detail
