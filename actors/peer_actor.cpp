#include "actors/peer_actor.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>

#include "actors/channel_actor.hpp"
#include "actors/channel_opener.hpp"
#include "actors/scheduler_actor.hpp"

namespace duplex::detail {

namespace {

using wire::frame_kind;

struct connection_info {
  bool outbound = false;  // we connected (DEALER): we allocate odd channel ids
  bool ready = false;     // HELLO exchanged
  std::string remote_id;
  std::string remote_session;
  std::string remote_key;  // CURVE-authenticated public key, empty without CURVE
  std::uint64_t remote_window = 0;
  std::uint64_t remote_max_payload = 0;
  // Its channels, and the next id this side allocates, are in the peer's channel_table, shared
  // with the transport thread and with threads that open channels themselves. A
  // channel's `forwarded - returned` is the connection credit its DATA holds: returned as its
  // reader consumes, the rest when it closes (which also covers DATA that reached an actor
  // that had just finished).
};

struct remote_info {
  std::string session;
  std::vector<connection_id> connections;  // the first one carries new channels
};

// Routes for incoming channels by service name.
using route = std::variant<handler_ptr, caf::actor>;

struct peer_state {
  std::shared_ptr<peer_context> context;
  caf::actor scheduler;
  std::unordered_map<connection_id, connection_info> connections;
  std::map<std::string, remote_info> remotes;
  std::deque<channel_ref_ptr> pending;  // channels waiting for any remote peer
  // Connected endpoints whose last handshake failed, with why; while no remote peer is ready,
  // opens fail with that instead of waiting.
  std::map<std::string, duplex::error> refused;
  std::map<std::string, route> routes;
  std::optional<route> default_route;  // services without a route of their own
  // Connections we sent BYE on: frames already on their way are ignored until the transport
  // reports the connection gone (so a late HELLO cannot revive them).
  std::unordered_set<connection_id> closed;
  // Where each monitored channel actor lives once sent (see channel_gone()).
  std::unordered_map<caf::actor_addr, std::pair<connection_id, std::uint64_t>> by_actor;
  // Frames of the batch being routed, per channel, in the batch until delivered (see collect()).
  struct collected_frames {
    caf::actor actor;
    std::vector<wire::frame*> frames;
  };
  std::vector<collected_frames> collected;
  std::unordered_map<std::uint64_t, std::size_t> collected_index;
  std::size_t collected_count = 0;
  // Connection credit of the batch's DATA for channels that are gone, returned in one CREDIT
  // after the batch: a cancelled stream's in-flight DATA would otherwise cost a frame each.
  std::uint64_t dropped_credit = 0;
  std::vector<std::uint64_t> parents_held;  // of the batch being routed (frame_batch)
  event_callback on_event;
  bool shut_down = false;
  std::string buffer;  // frames for the next transport send; moved out, so it keeps no capacity
};

class peer_behavior {
 public:
  peer_behavior(caf::event_based_actor* self, peer_state* st) : self_(self), st_(*st) {}

  void on_channel_down(const caf::down_msg& msg) { channel_gone(msg.source); }

  caf::behavior make() {
    return {
        [this](conn_up_atom, connection_id conn, const std::string& endpoint) {
          st_.refused.erase(endpoint);
          connection_up(conn);
        },
        [this](authenticated_atom, connection_id conn, const std::string& key) {
          if (st_.shut_down || st_.closed.count(conn)) return;
          connection(conn).remote_key = key;
        },
        [this](connect_failed_atom, const std::string& endpoint, duplex::error& reason) {
          connect_failed(endpoint, std::move(reason));
        },
        [this](frames_atom, connection_id conn, frame_batch& batch) {
          st_.parents_held = std::move(batch.parents_held);
          for (std::size_t i = 0; i < batch.frames.size(); ++i) {
            if (i == batch.window_exceeded_at) {
              if (!st_.shut_down && !st_.closed.count(conn))
                protocol_error(conn, "the remote exceeded the connection window");
              break;
            }
            if (!on_frame(conn, batch.frames[i])) break;
          }
          deliver_collected(&batch);
          auto dropped = std::exchange(st_.dropped_credit, 0);
          if (st_.connections.count(conn) != 0) send_connection_credit(conn, dropped);
        },
        [this](conn_down_atom, connection_id conn, duplex::error& reason) {
          st_.closed.erase(conn);
          connection_down(conn, std::move(reason), /*notify_remote=*/false);
          // The transport delivers nothing more from it.
          auto lock = table().lock();
          table().forget(conn);
        },
        [this](open_atom, channel_ref_ptr channel, const std::string& target) {
          open(std::move(channel), target);
        },
        [this](open_atom, const std::string& service, metadata& headers)
            -> caf::result<caf::actor> { return open_for_actor(service, std::move(headers)); },
        [this](open_on_atom, connection_id conn, std::uint64_t parent, channel_ref_ptr child) {
          self_->monitor(child->actor);
          auto it = st_.connections.find(conn);
          if (it == st_.connections.end() || !it->second.ready) {
            self_->send(child->actor, conn_down_atom::value,
                        duplex::error{errc::unavailable, "the connection is gone"});
            return;
          }
          attach(conn, child, parent);
        },
        [this](handle_atom, const std::string& service, handler_ptr handler) {
          {
            auto lock = table().lock();
            table().handlers[service] = handler;
          }
          st_.routes[service] = std::move(handler);
          return true;
        },
        [this](handle_default_atom, handler_ptr handler) {
          {
            auto lock = table().lock();
            table().default_handler = handler;
          }
          if (handler)
            st_.default_route = route{std::move(handler)};
          else
            st_.default_route.reset();
          return true;
        },
        [this](serve_atom, const std::string& service, caf::actor acceptor) {
          {
            auto lock = table().lock();
            table().handlers[service] = nullptr;  // the peer actor hands these to the actor
          }
          st_.routes[service] = std::move(acceptor);
        },
        [this](peers_atom) {
          std::vector<std::string> ids;
          for (auto& [id, info] : st_.remotes) ids.push_back(id);
          return ids;
        },
        [this](next_atom) { return self_->delegate(st_.scheduler, next_atom::value); },
        [this](drop_atom, const std::string& id) { return drop(id); },
        [this](events_atom, event_callback callback) {
          st_.on_event = std::move(callback);
          return true;
        },
        [this](shutdown_atom) { return shutdown(); },
        [this](count_atom) {
          auto lock = table().lock();
          return st_.pending.size() + table().accepted_channels();
        },
    };
  }

 private:
  const peer_options& options() const { return st_.context->options; }
  transport& net() { return *st_.context->net; }
  channel_table& table() { return *st_.context->channels; }

  // Under table().lock(): the channel's lane once the peer actor took it (nullptr otherwise,
  // also for a lane the transport thread added for an OPEN not taken yet).
  channel_lane* find_lane(connection_id conn, std::uint64_t channel_id) {
    auto* lanes = table().find(conn);
    if (!lanes) return nullptr;
    auto it = lanes->channels.find(channel_id);
    if (it == lanes->channels.end() || !it->second.actor) return nullptr;
    return &it->second;
  }

  // Removes a channel's lane; returns the connection credit its DATA still held (nullopt: it
  // was not there).
  std::optional<std::uint64_t> forget_channel(connection_id conn, std::uint64_t channel_id) {
    auto lock = table().lock();
    auto* lanes = table().find(conn);
    if (!lanes) return std::nullopt;
    auto it = lanes->channels.find(channel_id);
    if (it == lanes->channels.end() || !it->second.actor) return std::nullopt;
    auto held = it->second.forwarded - it->second.returned;
    st_.by_actor.erase(it->second.actor.address());
    --lanes->accepted;
    lanes->channels.erase(it);
    return held;
  }

  void emit(peer_event::kind what, const std::string& remote, duplex::error reason) {
    if (auto& log = st_.context->logger) {
      const auto& self_id = st_.context->peer_id;
      switch (what) {
        case peer_event::kind::connected:
          log->info("{}: connected to {}", self_id, remote);
          break;
        case peer_event::kind::disconnected:
          log->info("{}: disconnected from {}: {}", self_id, remote, reason.to_string());
          break;
        case peer_event::kind::rejected:
          log->warn("{}: connection with '{}' ended: {}", self_id, remote, reason.to_string());
          break;
      }
    }
    if (st_.on_event) st_.on_event(peer_event{what, remote, std::move(reason)});
  }

  void send_frames(connection_id conn) {
    if (st_.buffer.empty()) return;
    net().send(conn, std::move(st_.buffer));
    st_.buffer = {};
  }

  void close_connection(connection_id conn) {
    st_.closed.insert(conn);
    net().close_connection(conn);
  }

  // Connection credit of a channel that is gone, gathered with its readers' (channel_table).
  void return_connection_credit(connection_id conn, std::uint64_t bytes) {
    std::uint64_t now;
    {
      auto lock = table().lock();
      auto* lanes = table().find(conn);
      if (!lanes) return;
      now = channel_table::gather(
          *lanes, bytes,
          credit_return_threshold(options().connection_window, options().max_payload));
    }
    send_connection_credit(conn, now);
  }

  void send_connection_credit(connection_id conn, std::uint64_t bytes) {
    if (bytes == 0) return;
    std::string credit;
    wire::encode_value(frame_kind::credit, 0, bytes, credit);
    net().send_credit(conn, std::move(credit));
  }

  void send_hello(connection_id conn) {
    wire::frame hello;
    hello.kind = frame_kind::hello;
    hello.hello->peer_id = st_.context->peer_id;
    hello.hello->session_id = st_.context->session_id;
    hello.hello->window = options().channel_window;
    hello.hello->max_payload = options().max_payload;
    hello.hello->connection_window = options().connection_window;
    wire::encode(hello, st_.buffer);
    send_frames(conn);
  }

  void send_bye(connection_id conn, const duplex::error& reason) {
    wire::encode_status(frame_kind::bye, 0, reason, st_.buffer);
    send_frames(conn);
  }

  void connection_up(connection_id conn) {
    if (st_.shut_down) return;
    auto& info = st_.connections[conn];
    info.outbound = true;
    send_hello(conn);
  }

  // The state of a connection, created for a new ROUTER-side one (the remote connected).
  connection_info& connection(connection_id conn) {
    auto it = st_.connections.find(conn);
    if (it == st_.connections.end()) it = st_.connections.emplace(conn, connection_info{}).first;
    return it->second;
  }

  // A connected endpoint refused us (or we it) during the handshake. With no remote peer to
  // wait for, the channels in the pending queue fail with the reason instead of waiting for
  // a connection that may never come; ZeroMQ keeps retrying the endpoint.
  void connect_failed(const std::string& endpoint, duplex::error reason) {
    if (st_.shut_down) return;
    emit(peer_event::kind::rejected, endpoint, reason);
    st_.refused[endpoint] = reason;
    if (!st_.remotes.empty()) return;
    for (auto& channel : st_.pending) self_->send(channel->actor, fail_atom::value, reason);
    opens_settled(st_.pending.size());
    st_.pending.clear();
  }

  // Opens handed to this actor that it sent or failed (see channel_table::opens_via_actor).
  void opens_settled(std::size_t n) {
    if (n == 0) return;
    auto lock = table().lock();
    table().opens_via_actor -= std::min(n, table().opens_via_actor);
  }

  // A channel actor this actor monitors ended. Normally it released its lane itself when it
  // finished; if it ended before it learned its connection (cancelled while pending or while
  // being sent), the remote is told here, and what its DATA held of the connection window is
  // returned.
  void channel_gone(const caf::actor_addr& actor) {
    auto pending =
        std::find_if(st_.pending.begin(), st_.pending.end(),
                     [&](const channel_ref_ptr& c) { return c->actor.address() == actor; });
    if (pending != st_.pending.end()) {
      st_.pending.erase(pending);
      opens_settled(1);
    }
    auto where = st_.by_actor.find(actor);
    if (where == st_.by_actor.end()) return;
    auto [conn, channel_id] = where->second;
    st_.by_actor.erase(where);
    if (st_.connections.count(conn) == 0) return;
    auto held = forget_channel(conn, channel_id);
    if (!held) return;
    return_connection_credit(conn, *held);
    wire::encode_status(frame_kind::cancel, channel_id,
                        {errc::cancelled, "the channel was cancelled"}, st_.buffer);
    send_frames(conn);
  }

  // A batch's frames go to their channel actors as one message per channel, in order.
  void collect(std::uint64_t channel_id, const caf::actor& actor, wire::frame& f) {
    auto [it, added] = st_.collected_index.emplace(channel_id, st_.collected.size());
    if (added) st_.collected.push_back({actor, {}});
    st_.collected[it->second].frames.push_back(&f);
    ++st_.collected_count;
  }

  // `whole`: the batch the frames are in, when it has been routed to the end.
  void deliver_collected(frame_batch* whole = nullptr) {
    if (whole && st_.collected.size() == 1 && st_.collected_count == whole->frames.size()) {
      // The common case of a stream: the whole batch is one channel's, and goes as it is.
      self_->send(st_.collected.front().actor, inbound_atom::value, std::move(*whole));
    } else {
      for (auto& [actor, frames] : st_.collected) {
        frame_batch part;
        part.frames.reserve(frames.size());
        for (auto* f : frames) part.frames.push_back(std::move(*f));
        self_->send(actor, inbound_atom::value, std::move(part));
      }
    }
    st_.collected.clear();
    st_.collected_index.clear();
    st_.collected_count = 0;
  }

  bool on_frame(connection_id conn, wire::frame& f) {
    if (st_.shut_down || st_.closed.count(conn)) return false;
    auto& info = connection(conn);
    if (f.kind == frame_kind::hello) return hello(conn, info, *f.hello);
    if (f.kind == frame_kind::bye) {
      emit(peer_event::kind::rejected, info.remote_id, f.status);
      connection_down(conn,
                      {errc::unavailable, "the remote peer said BYE: " + f.status.to_string()},
                      /*notify_remote=*/false);
      close_connection(conn);
      return false;
    }
    if (!info.ready) {
      protocol_error(conn, std::string(wire::to_string(f.kind)) + " before HELLO");
      return false;
    }
    if (f.kind == frame_kind::ping || f.kind == frame_kind::pong)
      return true;         // liveness is the transport's business
    if (f.channel == 0) {  // CREDIT on channel 0 was taken by the transport
      protocol_error(conn, std::string(wire::to_string(f.kind)) + " on channel 0");
      return false;
    }
    if (f.kind == frame_kind::open) {
      incoming_open(conn, info, f);
      {
        // Only now, with the id taken and the lane made: until then the transport thread
        // accepts no OPEN of this connection itself.
        auto lock = table().lock();
        auto& lanes = table().find_or_add(conn);
        if (lanes.opens_to_actor > 0) --lanes.opens_to_actor;
      }
      release_parent(conn, f.parent);
      return true;
    }
    caf::actor target;
    {
      auto lock = table().lock();
      auto* lane = find_lane(conn, f.channel);
      if (f.kind == frame_kind::data) {
        // Within the connection window: the transport thread checked it on arrival.
        const std::uint64_t cost = f.payload.size() + wire::data_frame_overhead;
        auto& lanes = table().find_or_add(conn);
        lanes.unaccounted -= std::min(cost, lanes.unaccounted);
        if (!lane) {
          st_.dropped_credit += cost;  // nobody will consume it: returned after the batch
        } else {
          lanes.unreturned += cost;
          lane->forwarded += cost;
        }
      }
      if (lane) target = lane->actor;
    }
    if (target) {
      collect(f.channel, target, f);
      return true;
    }
    // Not open. Frames trailing a channel that was used and has ended are ignored; an id
    // never opened is a channel error. CANCEL is never answered (answers could loop).
    if (f.kind == frame_kind::cancel || was_used(conn, info, f.channel)) return true;
    wire::encode_status(frame_kind::cancel, f.channel,
                        {errc::internal, "unknown channel " + std::to_string(f.channel)},
                        st_.buffer);
    send_frames(conn);
    return true;
  }

  // The transport thread held the parent's frames back for this nested OPEN (frame_batch).
  void release_parent(connection_id conn, std::uint64_t parent) {
    if (parent == 0) return;
    auto it = std::find(st_.parents_held.begin(), st_.parents_held.end(), parent);
    if (it == st_.parents_held.end()) return;
    st_.parents_held.erase(it);
    table().applied_via_actors(conn, parent, 1);
  }

  // Whether `id` was opened on this connection by either side (open or ended since).
  bool was_used(connection_id conn, const connection_info& info, std::uint64_t id) {
    const bool ours = (id % 2 == 1) == info.outbound;
    auto lock = table().lock();
    auto* lanes = table().find(conn);
    if (!lanes) return false;
    return ours ? id < lanes->next_channel_id : id <= lanes->highest_remote_id;
  }

  bool hello(connection_id conn, connection_info& info, const wire::hello_fields& h) {
    auto reject = [&](duplex::error reason) {
      emit(peer_event::kind::rejected, h.peer_id, reason);
      send_bye(conn, reason);
      close_connection(conn);
      st_.connections.erase(conn);
      return false;
    };
    if (info.ready) {
      protocol_error(conn, "HELLO twice");
      return false;
    }
    if (h.version_major != wire::protocol_major)
      return reject({errc::failed_precondition,
                     "protocol version " + std::to_string(h.version_major) + "." +
                         std::to_string(h.version_minor) + " is not supported (this peer speaks " +
                         std::to_string(wire::protocol_major) + "." +
                         std::to_string(wire::protocol_minor) + ")"});
    if (h.peer_id.empty() || h.session_id.empty())
      return reject({errc::internal, "HELLO without a peer id or session id"});
    if (h.window < wire::data_frame_overhead + 1)
      return reject({errc::internal, "HELLO with a window too small for any message"});
    if (h.peer_id == st_.context->peer_id)
      return reject({errc::already_exists, "peer id '" + h.peer_id + "' is this peer's own"});
    auto known = st_.remotes.find(h.peer_id);
    if (known != st_.remotes.end() && known->second.session != h.session_id)
      return reject({errc::already_exists, "peer id '" + h.peer_id + "' is already connected"});
    info.ready = true;
    info.remote_id = h.peer_id;
    info.remote_session = h.session_id;
    // Clamped so that credit arithmetic cannot overflow, whatever a remote announces.
    info.remote_window = std::min<std::uint64_t>(h.window, std::uint64_t{1} << 62);
    info.remote_max_payload = std::min<std::uint64_t>(h.max_payload, std::uint64_t{1} << 62);
    if (!info.outbound) send_hello(conn);
    auto& remote = st_.remotes[h.peer_id];
    remote.session = h.session_id;
    remote.connections.push_back(conn);
    {
      // From here threads opening channels may use the connection themselves.
      auto lock = table().lock();
      auto& lanes = table().find_or_add(conn);
      lanes.ready = true;
      lanes.outbound = info.outbound;
      lanes.next_channel_id = info.outbound ? 1 : 2;
      lanes.remote_id = info.remote_id;
      lanes.remote_key = info.remote_key;
      lanes.remote_window = info.remote_window;
      lanes.remote_max_payload = info.remote_max_payload;
      table().set_preferred(h.peer_id, remote.connections.front());
    }
    if (remote.connections.size() == 1) {
      st_.context->rotation->add(h.peer_id);  // before `connected` is reported
      emit(peer_event::kind::connected, h.peer_id, {});
      flush_pending();
    }
    return true;
  }

  void protocol_error(connection_id conn, std::string why) {
    duplex::error reason{errc::internal, "protocol error: " + why};
    auto it = st_.connections.find(conn);
    emit(peer_event::kind::rejected, it == st_.connections.end() ? "" : it->second.remote_id,
         reason);
    connection_down(conn, reason, /*notify_remote=*/true);
    close_connection(conn);
  }

  void connection_down(connection_id conn, duplex::error reason, bool notify_remote) {
    deliver_collected();  // what arrived before the failure is still readable
    auto it = st_.connections.find(conn);
    if (it == st_.connections.end()) return;
    auto info = std::move(it->second);
    st_.connections.erase(it);
    if (notify_remote) send_bye(conn, reason);
    duplex::error channel_error{errc::unavailable, reason.message};
    std::vector<caf::actor> channels;
    {
      // Frames still arriving go to this actor, which ignores them.
      auto lock = table().lock();
      if (auto* lanes = table().find(conn)) {
        for (auto& [id, lane] : lanes->channels)
          if (lane.actor) channels.push_back(lane.actor);
        *lanes = connection_lanes{};
        lanes->closed = true;
      }
    }
    for (auto& channel : channels) self_->send(channel, conn_down_atom::value, channel_error);
    if (!info.ready) return;
    auto remote = st_.remotes.find(info.remote_id);
    if (remote == st_.remotes.end()) return;
    auto& conns = remote->second.connections;
    conns.erase(std::remove(conns.begin(), conns.end(), conn), conns.end());
    {
      auto lock = table().lock();
      table().set_preferred(info.remote_id, conns.empty() ? 0 : conns.front());
    }
    if (conns.empty()) {
      st_.remotes.erase(remote);
      st_.context->rotation->remove(info.remote_id);
      emit(peer_event::kind::disconnected, info.remote_id, reason);
    }
  }

  // Sends OPEN here, in id order (the remote requires increasing ids), then hands the
  // channel its connection; the channel's own frames follow the OPEN through the transport.
  void attach(connection_id conn, const channel_ref_ptr& channel, std::uint64_t parent) {
    std::uint64_t id;
    {
      auto lock = table().lock();
      id = attach_locked(*st_.context, conn, table().find_or_add(conn), *channel, parent);
    }
    st_.by_actor[channel->actor.address()] = {conn, id};
  }

  connection_id preferred_connection(const std::string& remote_id) {
    auto it = st_.remotes.find(remote_id);
    return it == st_.remotes.end() ? 0 : it->second.connections.front();
  }

  // An open made here rather than on a caller's thread: counted as one handed to this actor.
  void open_via_actor(channel_ref_ptr channel) {
    {
      auto lock = table().lock();
      ++table().opens_via_actor;
    }
    open(std::move(channel), {});
  }

  // For an open counted in opens_via_actor: sends it, fails it, or queues it in `pending`.
  void open(channel_ref_ptr channel, const std::string& target) {
    const auto queued_before = st_.pending.size();
    open_or_queue(std::move(channel), target);
    if (st_.pending.size() == queued_before) opens_settled(1);
  }

  void open_or_queue(channel_ref_ptr channel, const std::string& target) {
    self_->monitor(channel->actor);
    if (st_.shut_down) {
      self_->send(channel->actor, conn_down_atom::value,
                  duplex::error{errc::unavailable, "the peer is shut down"});
      return;
    }
    if (!target.empty()) {
      auto conn = preferred_connection(target);
      if (!conn) {
        self_->send(channel->actor, fail_atom::value,
                    duplex::error{errc::unavailable, "peer '" + target + "' is not connected"});
        return;
      }
      attach(conn, channel, 0);
      return;
    }
    // The bound is on channels waiting for a first remote peer; with peers ready, the queue
    // only holds a burst of opens for the scheduler's answers.
    if (st_.remotes.empty() && st_.pending.size() >= options().max_pending_opens) {
      self_->send(channel->actor, fail_atom::value,
                  duplex::error{errc::resource_exhausted,
                                "too many channels wait for a remote peer (max_pending_opens " +
                                    std::to_string(options().max_pending_opens) + ")"});
      return;
    }
    if (st_.remotes.empty() && !st_.refused.empty()) {
      self_->send(channel->actor, fail_atom::value, st_.refused.begin()->second);
      return;
    }
    st_.pending.push_back(std::move(channel));
    if (!st_.remotes.empty()) schedule_next();
  }

  // Sends the oldest pending channel to the peer the scheduler picks.
  void schedule_next() {
    self_->request(st_.scheduler, caf::infinite, next_atom::value)
        .then([this](const std::string& id) {
          if (st_.pending.empty() || id.empty()) return;
          auto conn = preferred_connection(id);
          if (!conn) {
            // It went down meanwhile: try again with whoever is left.
            if (!st_.remotes.empty()) schedule_next();
            return;
          }
          auto channel = std::move(st_.pending.front());
          st_.pending.pop_front();
          attach(conn, channel, 0);
          opens_settled(1);
        });
  }

  void flush_pending() {
    for (std::size_t i = 0; i < st_.pending.size(); ++i) schedule_next();
  }

  caf::actor open_for_actor(const std::string& service, metadata headers) {
    auto codec = st_.context->codecs->for_headers(headers);
    channel_meta meta{service, std::move(headers), {}, st_.context->peer_id, {}, {}};
    auto core = std::make_shared<channel_core>(std::move(meta), codec ? *codec : nullptr,
                                               options().channel_window, options().pending_bytes,
                                               options().pending_messages, options().max_payload);
    auto channel = spawn_channel({core, st_.context, caf::actor_cast<caf::actor>(self_), {}});
    if (!codec)
      self_->send(channel, fail_atom::value, codec.error());
    else
      open_via_actor(std::make_shared<channel_ref>(channel_ref{core, channel}));
    return channel;
  }

  void incoming_open(connection_id conn, connection_info& info, wire::frame& f) {
    auto refuse = [&](duplex::error reason) {
      {
        // The transport thread added a lane for this OPEN; an open channel's is kept.
        auto lock = table().lock();
        if (auto* lanes = table().find(conn)) {
          auto it = lanes->channels.find(f.channel);
          if (it != lanes->channels.end() && !it->second.actor) lanes->channels.erase(it);
        }
      }
      wire::encode_status(frame_kind::cancel, f.channel, reason, st_.buffer);
      send_frames(conn);
    };
    // The remote allocates ids of its own parity: odd if it connected to us.
    const bool remote_connected = !info.outbound;
    if (f.channel == 0 || (f.channel % 2 == 1) != remote_connected)
      return refuse({errc::internal, "OPEN with a channel id of the wrong parity"});
    std::uint64_t highest = 0;
    {
      auto lock = table().lock();
      auto& lanes = table().find_or_add(conn);
      highest = lanes.highest_remote_id;
      if (f.channel > highest) lanes.highest_remote_id = f.channel;
    }
    if (f.channel <= highest)
      return refuse({errc::internal, "OPEN for channel " + std::to_string(f.channel) +
                                         " is not above channel " + std::to_string(highest) +
                                         ", the highest this connection opened"});
    std::size_t open_channels = 0;
    caf::actor parent;
    {
      auto lock = table().lock();
      if (auto* lanes = table().find(conn)) open_channels = lanes->accepted;
      if (f.parent != 0)
        if (auto* lane = find_lane(conn, f.parent)) parent = lane->actor;
    }
    if (open_channels >= options().max_channels_per_remote)
      return refuse(
          {errc::resource_exhausted, "too many open channels (max_channels_per_remote " +
                                         std::to_string(options().max_channels_per_remote) + ")"});
    std::size_t header_bytes = f.service.size();
    for (auto& [key, value] : f.headers) header_bytes += key.size() + value.size();
    if (header_bytes > options().max_header_bytes)
      return refuse(
          {errc::resource_exhausted, "service and headers of " + std::to_string(header_bytes) +
                                         " bytes exceed the limit of " +
                                         std::to_string(options().max_header_bytes) + " bytes"});
    auto codec = st_.context->codecs->for_headers(f.headers);
    if (!codec) return refuse(codec.error());

    if (f.parent != 0 && !parent)
      return refuse(
          {errc::not_found, "parent channel " + std::to_string(f.parent) + " is not open"});
    const route* target = nullptr;
    if (!parent) {
      auto r = st_.routes.find(f.service);
      if (r != st_.routes.end())
        target = &r->second;
      else if (st_.default_route)
        target = &*st_.default_route;
      else if (!options().accept_unhandled)
        return refuse({errc::unimplemented,
                       "no service '" + f.service + "' at peer '" + st_.context->peer_id + "'"});
    }

    channel_meta meta{f.service,      std::move(f.headers), {}, st_.context->peer_id,
                      info.remote_id, info.remote_key};
    auto core = std::make_shared<channel_core>(std::move(meta), *codec, options().channel_window,
                                               options().pending_bytes, options().pending_messages,
                                               options().max_payload);
    attachment where{conn,
                     f.channel,
                     f.parent,
                     info.remote_id,
                     info.remote_key,
                     info.remote_window,
                     info.remote_max_payload};
    // A fresh core: nothing waits at its gate, so no actor needs waking yet.
    prepare_attached(*core, where, *st_.context, caf::actor{});
    auto channel = spawn_accepted_channel(
        {core, st_.context, caf::actor_cast<caf::actor>(self_), parent}, std::move(where));
    {
      auto lock = table().lock();
      auto& lanes = table().find_or_add(conn);
      auto& lane = lanes.channels[f.channel];
      lane.actor = channel;
      lane.core = core;
      ++lanes.accepted;
    }
    self_->monitor(channel);
    st_.by_actor[channel.address()] = {conn, f.channel};
    auto incoming = std::make_shared<channel_ref>(channel_ref{core, channel});

    if (parent) {
      self_->send(parent, nested_in_atom::value, std::move(incoming));
    } else if (!target) {
      st_.context->accepted.push(std::move(incoming));
    } else if (auto* handler = std::get_if<handler_ptr>(target)) {
      st_.context->run_handler(std::move(incoming), *handler);
    } else {
      auto meta_now = core->meta_copy();
      self_->send(std::get<caf::actor>(*target), channel_atom::value, channel, meta_now.service,
                  meta_now.headers);
    }
  }

  result<void> drop(const std::string& id) {
    auto it = st_.remotes.find(id);
    if (it == st_.remotes.end())
      return duplex::error{errc::not_found, "peer '" + id + "' is not connected"};
    auto conns = it->second.connections;
    duplex::error reason{errc::cancelled, "dropped by peer '" + st_.context->peer_id + "'"};
    for (auto conn : conns) {
      connection_down(conn, reason, /*notify_remote=*/true);
      close_connection(conn);
    }
    return {};
  }

  bool shutdown() {
    if (st_.shut_down) return true;
    st_.on_event = nullptr;  // the application is tearing down; it asked for this
    duplex::error reason{errc::unavailable, "peer '" + st_.context->peer_id + "' shut down"};
    for (auto& [conn, info] : st_.connections) {
      if (!info.ready) continue;
      // Streams still open end with unavailable at the remote, never with a clean end.
      {
        auto lock = table().lock();
        if (auto* lanes = table().find(conn))
          for (auto& [id, lane] : lanes->channels)
            if (lane.actor) wire::encode_status(frame_kind::cancel, id, reason, st_.buffer);
      }
      wire::encode_status(frame_kind::bye, 0, reason, st_.buffer);
      send_frames(conn);
    }
    std::vector<connection_id> conns;
    for (auto& [conn, info] : st_.connections) conns.push_back(conn);
    for (auto conn : conns) connection_down(conn, reason, /*notify_remote=*/false);
    for (auto& channel : st_.pending) self_->send(channel->actor, conn_down_atom::value, reason);
    opens_settled(st_.pending.size());
    st_.pending.clear();
    st_.shut_down = true;
    st_.context->accepted.close(nullptr);
    self_->send_exit(st_.scheduler, caf::exit_reason::user_shutdown);
    return true;
  }

  caf::event_based_actor* self_;
  peer_state& st_;
};

struct peer_actor_state {
  peer_state peer;
  std::unique_ptr<peer_behavior> behavior;
};

caf::behavior peer_actor(caf::stateful_actor<peer_actor_state>* self,
                         std::shared_ptr<peer_context> context) {
  self->state.peer.context = std::move(context);
  self->state.peer.scheduler =
      spawn_scheduler(*self->state.peer.context->system, self->state.peer.context->peer_id,
                      self->state.peer.context->rotation);
  self->state.behavior = std::make_unique<peer_behavior>(self, &self->state.peer);
  auto* behavior = self->state.behavior.get();
  self->set_down_handler([behavior](caf::down_msg& msg) { behavior->on_channel_down(msg); });
  return self->state.behavior->make();
}

}  // namespace

caf::actor spawn_peer_actor(std::shared_ptr<peer_context> context) {
  auto& system = *context->system;
  return system.spawn<caf::hidden>(peer_actor, std::move(context));
}

}  // namespace duplex::detail
