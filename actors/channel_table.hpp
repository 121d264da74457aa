// The channels of each connection, shared by the peer actor, which opens and closes them, and
// the transport thread, which applies the frames of open channels' streams itself (see
// transport_bridge.hpp). Also the receive side of each connection's window.
#pragma once

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/weak_intrusive_ptr.hpp>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/channel_core.hpp"
#include "duplex/peer.hpp"
#include "transport/transport.hpp"

namespace duplex::detail {

struct channel_lane {
  caf::actor actor;  // empty while the peer actor has not taken the channel's OPEN yet
  std::shared_ptr<channel_core> core;
  // Connection credit of the DATA received for this channel, and how much of it its reader
  // consumed: the rest is returned when the channel closes.
  std::uint64_t forwarded = 0;
  std::uint64_t returned = 0;
  // Frames the transport thread passed to the actors that the channel's actor has not applied
  // yet. While there are any, its next frames take the same way, so that none overtakes them.
  std::uint32_t via_actors = 0;
};

struct connection_lanes {
  bool closed = false;  // the peer actor ended the connection: frames go to it, to be ignored
  // Set by the peer actor once HELLO was exchanged: what a thread opening a channel on the
  // connection needs (see channel_opener.hpp).
  bool ready = false;
  bool outbound = false;                // this side connected: it allocates odd ids
  std::uint64_t next_channel_id = 0;    // the next id this side allocates, sent in this order
  std::uint64_t highest_remote_id = 0;  // the highest id the remote opened
  // OPENs the transport thread passed to the peer actor that it has not handled yet: while
  // there are any, the next ones go there too (ids must keep increasing).
  std::size_t opens_to_actor = 0;
  std::string remote_id;
  std::string remote_key;
  std::uint64_t remote_window = 0;
  std::uint64_t remote_max_payload = 0;
  // DATA cost received and not yet sent back in a CREDIT: what the remote sees as used of the
  // connection window. The transport thread checks each DATA frame against it on arrival.
  std::uint64_t unreturned = 0;
  std::uint64_t unaccounted = 0;  // DATA cost passed to the peer actor that it has not counted
  // Connection credit consumed or freed and not sent back yet: it goes back in chunks (see
  // gather()), not in a CREDIT frame per closed channel.
  std::uint64_t credit_gathered = 0;
  std::size_t accepted = 0;  // lanes with an actor
  std::unordered_map<std::uint64_t, channel_lane> channels;
};

class channel_table {
 public:
  std::unique_lock<std::mutex> lock() { return std::unique_lock<std::mutex>(mutex_); }

  // Under lock().
  connection_lanes* find(connection_id conn) {
    auto it = connections_.find(conn);
    return it == connections_.end() ? nullptr : &it->second;
  }
  connection_lanes& find_or_add(connection_id conn) { return connections_[conn]; }
  // The transport reported the connection gone: it delivers nothing more from it.
  void forget(connection_id conn) { connections_.erase(conn); }
  // The connection that carries new channels to a remote peer (0: none ready).
  connection_id preferred(const std::string& remote_id) const {
    auto it = preferred_.find(remote_id);
    return it == preferred_.end() ? 0 : it->second;
  }
  void set_preferred(const std::string& remote_id, connection_id conn) {
    if (conn == 0)
      preferred_.erase(remote_id);
    else
      preferred_[remote_id] = conn;
  }
  // Where incoming channels go, mirrored from the peer actor's routes so that the transport
  // thread can accept a channel itself: a service's handler, or nullptr for a service the
  // peer actor routes (to an actor); `default_handler` for other services (nullptr: the peer
  // actor decides).
  std::unordered_map<std::string, std::shared_ptr<const channel_handler>> handlers;
  std::shared_ptr<const channel_handler> default_handler;
  // Opens handed to the peer actor that it has not sent or failed yet: while there are any, a
  // thread opening a channel hands it there too, so that no open overtakes an earlier one.
  std::size_t opens_via_actor = 0;
  std::size_t accepted_channels() const {
    std::size_t n = 0;
    for (auto& [conn, lanes] : connections_) n += lanes.accepted;
    return n;
  }

  // Connection credit to send back now for `n` bytes consumed or freed (0: gathered for later):
  // once a chunk of `threshold` bytes is together, as channels return theirs.
  static std::uint64_t gather(connection_lanes& lanes, std::uint64_t n, std::uint64_t threshold) {
    lanes.credit_gathered += n;
    if (lanes.credit_gathered < threshold) return 0;
    auto out = lanes.credit_gathered;
    lanes.credit_gathered = 0;
    lanes.unreturned -= std::min(out, lanes.unreturned);  // sent back now
    return out;
  }

  // For a channel's actor: its reader consumed `n` bytes of DATA. Returns the connection credit
  // to send back now.
  std::uint64_t consumed(connection_id conn, std::uint64_t channel, std::uint64_t n,
                         std::uint64_t threshold) {
    std::lock_guard<std::mutex> guard(mutex_);
    auto* lanes = find(conn);
    if (!lanes) return 0;
    auto it = lanes->channels.find(channel);
    if (it == lanes->channels.end() || !it->second.actor) return 0;  // returned in full at close
    auto& lane = it->second;
    n = std::min(n, lane.forwarded - lane.returned);
    lane.returned += n;
    return gather(*lanes, n, threshold);
  }

  // For a channel's actor when it finishes: forgets its lane, freeing the connection credit its
  // DATA still held. Returns the connection credit to send back now.
  std::uint64_t release(connection_id conn, std::uint64_t channel, std::uint64_t threshold) {
    std::lock_guard<std::mutex> guard(mutex_);
    auto* lanes = find(conn);
    if (!lanes) return 0;
    auto it = lanes->channels.find(channel);
    if (it == lanes->channels.end() || !it->second.actor) return 0;
    auto held = it->second.forwarded - it->second.returned;
    --lanes->accepted;
    lanes->channels.erase(it);
    return gather(*lanes, held, threshold);
  }

  // For the thread that finished a channel without its actor (channel_finish.hpp): release(),
  // and the actor, which never ran, is remembered weakly, so that the peer's shutdown can stop
  // it while the actor system lives (a handle may keep it past the system otherwise).
  std::uint64_t release_unstarted(connection_id conn, std::uint64_t channel,
                                  std::uint64_t threshold) {
    std::lock_guard<std::mutex> guard(mutex_);
    auto* lanes = find(conn);
    if (!lanes) return 0;
    auto it = lanes->channels.find(channel);
    if (it == lanes->channels.end() || !it->second.actor) return 0;
    remember_unstarted(it->second.actor);
    auto held = it->second.forwarded - it->second.returned;
    --lanes->accepted;
    lanes->channels.erase(it);
    return gather(*lanes, held, threshold);
  }

  // The remembered actors that still exist (see release_unstarted).
  std::vector<caf::actor> take_unstarted() {
    std::vector<caf::weak_actor_ptr> remembered;
    {
      std::lock_guard<std::mutex> guard(mutex_);
      remembered.swap(unstarted_);
    }
    std::vector<caf::actor> alive;
    for (auto& weak : remembered)
      if (auto strong = weak.lock()) alive.push_back(caf::actor_cast<caf::actor>(strong));
    return alive;
  }

  // For a channel's actor: it applied `n` frames that the transport thread passed to the actors.
  void applied_via_actors(connection_id conn, std::uint64_t channel, std::size_t n) {
    std::lock_guard<std::mutex> guard(mutex_);
    auto* lanes = find(conn);
    if (!lanes) return;
    auto it = lanes->channels.find(channel);
    if (it == lanes->channels.end()) return;
    auto& pending = it->second.via_actors;
    pending = n >= pending ? 0 : pending - static_cast<std::uint32_t>(n);
  }

 private:
  // Under the lock. Forgets those already gone now and then (never locking them: dropping the
  // last reference here would destroy an actor under this lock).
  void remember_unstarted(const caf::actor& actor) {
    unstarted_.push_back(caf::actor_cast<caf::weak_actor_ptr>(actor));
    if (unstarted_.size() < sweep_at_) return;
    unstarted_.erase(std::remove_if(unstarted_.begin(), unstarted_.end(),
                                    [](const caf::weak_actor_ptr& weak) {
                                      return weak->strong_refs.load() == 0;
                                    }),
                     unstarted_.end());
    sweep_at_ = std::max<std::size_t>(64, unstarted_.size() * 2);
  }

  std::mutex mutex_;
  std::vector<caf::weak_actor_ptr> unstarted_;
  std::size_t sweep_at_ = 64;
  std::unordered_map<connection_id, connection_lanes> connections_;
  std::unordered_map<std::string, connection_id> preferred_;
};

}  // namespace duplex::detail
