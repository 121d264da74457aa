#include "actors/transport_bridge.hpp"

#include <caf/logger.hpp>

#include <algorithm>
#include <limits>
#include <utility>
#include <vector>

#include "actors/channel_actor.hpp"
#include "actors/channel_finish.hpp"
#include "actors/channel_opener.hpp"
#include "actors/messages.hpp"

namespace duplex::detail {

namespace {

using wire::frame_kind;

bool is_stream_frame(frame_kind kind) {
  return kind == frame_kind::data || kind == frame_kind::trailers || kind == frame_kind::end ||
         kind == frame_kind::error;
}

// A batch's frames are applied here when all of this holds, and go to the peer actor otherwise
// (which then checks them as it always did, so a frame refused here is refused there too):
// - the frame is DATA, TRAILERS, END or ERROR of a channel the peer actor accepted or opened;
// - no frame of that channel is on its way through the actors (via_actors), and no frame of
//   that channel earlier in the batch went that way;
// - no connection-level frame (HELLO, BYE, channel 0) came earlier in the batch;
// - the channel's reader is not an actor (receive_state::direct) and the frame keeps the
//   stream's rules, its credit and the connection window.
// An OPEN is accepted here when the connection is ready, no OPEN of it is on its way through
// the peer actor, no connection-level frame came earlier in the batch, it is not nested, it
// keeps every rule the peer actor checks (id, limits, codec) and its service has a handler;
// otherwise the peer actor takes it, and answers it as it always did.
// A channel's messages are handed to its inbox under one lock per batch; callbacks of readers
// waiting in read_async() run on the channel's actor, never on the transport thread, except
// those declared nonblocking (channel_access::read_async_nonblocking), which run here.
class transport_bridge final : public transport_events {
 public:
  transport_bridge(caf::actor peer, std::weak_ptr<peer_context> context,
                   std::shared_ptr<channel_table> channels, std::uint64_t connection_window)
      : peer_(std::move(peer)),
        context_(std::move(context)),
        channels_(std::move(channels)),
        connection_window_(connection_window) {}

  void on_connection_up(connection_id conn, const std::string& endpoint) override {
    caf::anon_send(peer_, conn_up_atom::value, conn, endpoint);
  }
  void on_authenticated(connection_id conn, const std::string& public_key) override {
    caf::anon_send(peer_, authenticated_atom::value, conn, public_key);
  }
  void on_connect_failed(const std::string& endpoint, duplex::error reason) override {
    caf::anon_send(peer_, connect_failed_atom::value, endpoint, std::move(reason));
  }
  void on_frames(connection_id conn, std::vector<wire::frame> frames) override {
    {
      auto lock = channels_->lock();
      route(conn, channels_->find_or_add(conn), frames);
    }
    for (auto& core : to_wake_) core->inbox.wake_readers();
    to_wake_.clear();
    // Channels whose remote end completed them here, their actors never having run.
    if (!finishes_.empty()) {
      auto context = context_.lock();
      const auto threshold = credit_return_threshold(
          connection_window_, context ? context->options.max_payload : connection_window_);
      for (auto& done : finishes_)
        finish_without_actor(*done.core, *channels_, context ? context->net.get() : nullptr, conn,
                             done.channel, threshold);
      finishes_.clear();
      // A released lane may have held an actor's last reference: see below.
      caf::logger::set_current_actor_system(nullptr);
    }
    // Readers' callbacks declared nonblocking run here, once the locks are let go.
    if (!run_here_.empty()) {
      nonblocking_scope cannot_wait;
      for (auto& call : run_here_) {
        try {
          call();
        } catch (...) {
          // It broke its promise; the transport thread carries on (rpc/client.hpp says so).
        }
      }
      run_here_.clear();
      caf::logger::set_current_actor_system(nullptr);  // it may have made calls
    }
    // Handlers of channels accepted here start with the batch's messages already in their
    // inboxes.
    if (!starts_.empty()) {
      // Spawning made this thread hold CAF's logger, which the actor system waits for when it
      // is destroyed; the transport thread may outlive it (a handle keeps it).
      caf::logger::set_current_actor_system(nullptr);
      for (auto& start : starts_) {
        if (may_run_here(start))
          start.context->run_handler_here(std::move(start.channel), start.handler);
        else
          start.context->run_handler(std::move(start.channel), start.handler);
      }
      starts_.clear();
    }
    // Compacted to what the actors take, in the batch's order; they outlive the batch's bytes.
    std::size_t kept = 0;
    std::size_t window_exceeded_at = none;
    for (std::size_t i = 0; i < frames.size(); ++i) {
      if (route_[i] == applied_here) continue;
      if (i == exceeded_at_) window_exceeded_at = kept;
      frames[i].own_payload();
      if (kept != i) frames[kept] = std::move(frames[i]);
      ++kept;
    }
    frames.resize(kept);
    // Wake-ups first: a channel's actor then runs the callbacks before it sees the frames
    // that came after them in the batch (a CANCEL, say).
    for (auto& w : wakes_)
      caf::anon_send(w.actor, wake_atom::value, std::move(w.calls), w.remote_ended);
    wakes_.clear();
    if (!frames.empty())
      caf::anon_send(peer_, frames_atom::value, conn,
                     frame_batch{std::move(frames), window_exceeded_at, std::move(parents_held_)});
    parents_held_.clear();
  }
  void on_connection_down(connection_id conn, duplex::error reason) override {
    // The peer actor forgets the connection's channels once it has failed them.
    caf::anon_send(peer_, conn_down_atom::value, conn, std::move(reason));
  }

 private:
  static constexpr std::uint8_t to_actors = 0;
  static constexpr std::uint8_t applied_here = 1;
  static constexpr std::size_t none = std::numeric_limits<std::size_t>::max();

  // One channel's frames in a batch that may be applied here, as a list through next_.
  struct candidates {
    channel_lane* lane;
    std::size_t first;
    std::size_t last;
    bool followed = false;  // a frame of the channel after them goes to the actors
  };
  struct wake {
    caf::actor actor;
    deferred_calls calls;
    bool remote_ended;
  };
  struct finish {
    std::shared_ptr<channel_core> core;
    std::uint64_t channel;
  };
  struct handler_start {
    std::shared_ptr<peer_context> context;
    channel_ref_ptr channel;
    handler_ptr handler;
  };

  // Under the table's lock: decides each frame's way and applies what it can.
  void route(connection_id conn, connection_lanes& lanes, std::vector<wire::frame>& frames) {
    route_.assign(frames.size(), to_actors);
    if (lanes.closed) return;
    next_.assign(frames.size(), none);
    groups_.clear();
    exceeded_at_ = none;
    applied_cost_ = 0;
    std::uint64_t data_cost = 0;  // of the batch's DATA so far
    bool after_connection_frame = false;
    for (std::size_t i = 0; i < frames.size(); ++i) {
      auto& f = frames[i];
      if (f.kind == frame_kind::pong) continue;  // liveness: the peer actor ignores it
      if (f.kind == frame_kind::data) {
        // The connection window, checked in arrival order whichever way each frame goes: the
        // peer actor ends the connection at the first frame beyond it.
        const std::uint64_t cost = f.payload_size() + wire::data_frame_overhead;
        if (lanes.unreturned + lanes.unaccounted + data_cost + cost > connection_window_) {
          exceeded_at_ = i;
          lanes.closed = true;  // the peer actor ends it: later batches go there too
          break;
        }
        data_cost += cost;
      }
      if (f.channel == 0 || f.kind == frame_kind::hello || f.kind == frame_kind::bye) {
        after_connection_frame = true;
        if (f.kind == frame_kind::bye) lanes.closed = true;  // the rest goes to the peer actor
        continue;
      }
      if (f.kind == frame_kind::open) {
        if (!after_connection_frame && accept(conn, lanes, f)) {
          route_[i] = applied_here;
          continue;
        }
        // Known from here on, so that the channel's next frames are counted in via_actors
        // even before the peer actor has taken the OPEN (it drops the lane if it refuses).
        lanes.channels.try_emplace(f.channel);
        ++lanes.opens_to_actor;
        if (f.parent != 0) hold_parent(lanes, f.parent);
        continue;
      }
      auto it = lanes.channels.find(f.channel);
      if (it == lanes.channels.end()) continue;  // the peer actor answers unknown channels
      auto& lane = it->second;
      if (after_connection_frame || lane.via_actors > 0 || !lane.core || !is_stream_frame(f.kind)) {
        if (lane.via_actors == 0)
          if (auto* group = find_group(lane)) group->followed = true;
        ++lane.via_actors;
        continue;
      }
      add_candidate(lane, i);
    }
    for (auto& group : groups_) apply(lanes, group, frames);
    lanes.unaccounted += data_cost - applied_cost_;  // the rest goes to the peer actor
  }

  // Accepts an OPEN here if the peer actor would accept it and run a handler (see above).
  bool accept(connection_id conn, connection_lanes& lanes, wire::frame& f) {
    if (!lanes.ready || lanes.opens_to_actor > 0 || f.parent != 0) return false;
    if (f.channel == 0 || (f.channel % 2 == 1) == lanes.outbound) return false;  // wrong parity
    if (f.channel <= lanes.highest_remote_id) return false;
    auto context = context_.lock();
    if (!context || !context->run_handler) return false;
    const auto& options = context->options;
    if (lanes.accepted >= options.max_channels_per_remote) return false;
    std::size_t header_bytes = f.service.size();
    for (auto& [key, value] : f.headers) header_bytes += key.size() + value.size();
    if (header_bytes > options.max_header_bytes) return false;
    auto route = channels_->handlers.find(f.service);
    handler_ptr handler =
        route != channels_->handlers.end() ? route->second : channels_->default_handler;
    if (!handler) return false;
    auto codec = context->codecs->for_headers(f.headers);
    if (!codec) return false;

    lanes.highest_remote_id = f.channel;
    channel_meta meta{f.service,        std::move(f.headers), {},
                      context->peer_id, lanes.remote_id,      lanes.remote_key};
    auto core = std::make_shared<channel_core>(std::move(meta), *codec, options.channel_window,
                                               options.pending_bytes, options.pending_messages,
                                               options.max_payload);
    attachment where{conn,
                     f.channel,
                     0,
                     lanes.remote_id,
                     lanes.remote_key,
                     lanes.remote_window,
                     lanes.remote_max_payload};
    auto actor = spawn_accepted_channel({core, context, peer_, {}}, where);
    prepare_attached(*core, where, *context, actor);
    auto& lane = lanes.channels[f.channel];
    lane.actor = actor;
    lane.core = core;
    ++lanes.accepted;
    starts_.push_back(
        {std::move(context),
         std::make_shared<channel_ref>(channel_ref{std::move(core), std::move(actor)}),
         std::move(handler)});
    return true;
  }

  // A nonblocking handler (peer_context::nonblocking) runs here when its whole request is in.
  static bool may_run_here(const handler_start& start) {
    auto test = std::atomic_load(&start.context->nonblocking);
    if (!test) return false;
    auto& core = *start.channel->core;
    if (!core.remote_ended()) return false;
    std::string service;
    {
      std::lock_guard<std::mutex> lock(core.meta_mutex);
      service = core.meta.service;
    }
    return (*test)(service);
  }

  // A nested OPEN goes to the peer actor: its parent's next frames follow it there, or the
  // parent's end, applied here, could finish the parent before the child exists.
  void hold_parent(connection_lanes& lanes, std::uint64_t parent) {
    auto it = lanes.channels.find(parent);
    if (it == lanes.channels.end()) return;
    auto& lane = it->second;
    if (lane.via_actors == 0)
      if (auto* group = find_group(lane)) group->followed = true;
    ++lane.via_actors;
    parents_held_.push_back(parent);
  }

  candidates* find_group(const channel_lane& lane) {
    // A batch usually holds a few channels: the last group is the likely one.
    for (auto g = groups_.rbegin(); g != groups_.rend(); ++g)
      if (g->lane == &lane) return &*g;
    return nullptr;
  }

  void add_candidate(channel_lane& lane, std::size_t i) {
    if (auto* group = find_group(lane)) {
      next_[group->last] = i;
      group->last = i;
      return;
    }
    groups_.push_back({&lane, i, i});
  }

  void apply(connection_lanes& lanes, candidates& group, std::vector<wire::frame>& frames) {
    auto& lane = *group.lane;
    auto& core = *lane.core;
    std::unique_lock<std::mutex> lock(core.receive_mutex);
    bool stop = !core.received.direct;
    // Room for the group's borrowed payloads in one slab (one allocation for the batch).
    std::size_t borrowed = 0;
    for (auto i = group.first; i != none; i = next_[i]) borrowed += frames[i].borrowed_size;
    payload_slab slab;
    if (!stop && borrowed > 0) {
      slab = std::make_shared<std::vector<std::uint8_t>>();
      slab->reserve(borrowed);
    }
    bool ended = false;
    duplex::error end_status;
    for (auto i = group.first; i != none; i = next_[i]) {
      if (!stop) {
        auto& f = frames[i];
        const std::uint64_t cost =
            f.kind == frame_kind::data ? f.payload_size() + wire::data_frame_overhead : 0;
        const bool ends = f.kind == frame_kind::end || f.kind == frame_kind::error;
        if (ends && (next_[i] != none || group.followed)) {
          // More of the channel follows its end: all of it goes to the actor, which then
          // refuses what breaks the rules before the channel can finish and ignore it.
          stop = true;
        } else {
          auto result = core.apply_locked(f, arrived_, slab);
          if (result.what == applied::outcome::refused) {
            stop = true;  // the channel's actor finds the same violation and aborts
          } else {
            lanes.unreturned += cost;
            applied_cost_ += cost;
            lane.forwarded += cost;
            route_[i] = applied_here;
            if (result.what == applied::outcome::ended) {
              ended = true;
              end_status = std::move(result.status);
              stop = true;  // what follows the end is the actor's to refuse
            }
            continue;
          }
        }
      }
      ++lane.via_actors;
    }
    deferred_calls calls;
    if (!arrived_.empty() || ended) {
      std::optional<read_result> end;
      if (ended) end = end_status.ok() ? read_result::end() : read_result::failure(end_status);
      // Blocked readers wake once the table's lock is let go: a reader that runs at once
      // (on this core) would otherwise block on it again to open its next channel.
      core.inbox.push_all(arrived_, &calls, &run_here_, std::move(end), /*wake_now=*/false);
      to_wake_.push_back(lane.core);
    }
    arrived_.clear();  // a closed inbox leaves them
    // The remote's end: a channel whose other side ended by direct writes, and whose actor
    // never ran, is finished here (after the table's lock). An actor that never ran needs no
    // word of it while this side is open: whoever ends this side checks the remote's end.
    const auto& r = core.received;
    if (ended && calls.empty() && core.claim_finish_locked()) {
      finishes_.push_back({lane.core, frames[group.first].channel});
    } else if (!calls.empty() || (ended && (r.actor_started || r.local_ended_directly))) {
      ++core.received.wakes_in_flight;
      wakes_.push_back({lane.actor, std::move(calls), ended});
    }
  }

  caf::actor peer_;
  std::weak_ptr<peer_context> context_;
  std::shared_ptr<channel_table> channels_;
  const std::uint64_t connection_window_;
  // Scratch space of the batch being routed (only the transport thread calls on_frames).
  std::vector<std::uint8_t> route_;
  std::vector<std::size_t> next_;
  std::vector<candidates> groups_;
  std::vector<inbox_item> arrived_;
  std::vector<wake> wakes_;
  std::size_t exceeded_at_ = none;  // the frame beyond the connection window
  std::uint64_t applied_cost_ = 0;  // DATA cost of the frames applied here
  std::vector<handler_start> starts_;
  std::vector<finish> finishes_;  // channels to finish once the table's lock is let go
  std::vector<std::shared_ptr<channel_core>> to_wake_;  // inboxes with new items, ditto
  deferred_calls run_here_;  // nonblocking readers' callbacks, run after the locks
  std::vector<std::uint64_t> parents_held_;
};

}  // namespace

std::shared_ptr<transport_events> make_transport_bridge(caf::actor peer,
                                                        std::weak_ptr<peer_context> context,
                                                        std::shared_ptr<channel_table> channels,
                                                        std::uint64_t connection_window) {
  return std::make_shared<transport_bridge>(std::move(peer), std::move(context),
                                            std::move(channels), connection_window);
}

}  // namespace duplex::detail
