// The channels of each connection, shared by the peer actor, which opens and closes them, and
// the transport thread, which applies the frames of open channels' streams itself (see
// transport_bridge.hpp). Also the receive side of each connection's window.
#pragma once

#include <caf/actor.hpp>

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "actors/channel_core.hpp"
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
  std::uint64_t unreturned = 0;  // DATA cost received and not yet returned
  std::size_t accepted = 0;      // lanes with an actor
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
  std::size_t accepted_channels() const {
    std::size_t n = 0;
    for (auto& [conn, lanes] : connections_) n += lanes.accepted;
    return n;
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
  std::mutex mutex_;
  std::unordered_map<connection_id, connection_lanes> connections_;
};

}  // namespace duplex::detail
