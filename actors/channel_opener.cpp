#include "actors/channel_opener.hpp"

#include <limits>

#include "actors/channel_actor.hpp"

namespace duplex::detail {

namespace {

constexpr std::int64_t unlimited_messages = std::int64_t{1} << 40;

}  // namespace

void prepare_attached(channel_core& core, const attachment& where, const peer_context& context,
                      const caf::actor& actor) {
  const auto& options = context.options;
  direct_route route{
      context.net,      where.conn,
      where.channel_id, where.remote_max_payload,
      context.channels, credit_return_threshold(options.connection_window, options.max_payload)};
  {
    std::lock_guard<std::mutex> lock(core.receive_mutex);
    core.received.direct = !core.received.ended && !core.received.actor_reader;
    core.home = route;
  }
  {
    std::lock_guard<std::mutex> lock(core.meta_mutex);
    core.meta.remote_peer_id = where.remote_peer_id;
    core.meta.remote_key = where.remote_key;
  }
  core.gate.grant(static_cast<std::int64_t>(where.remote_window) -
                      static_cast<std::int64_t>(options.pending_bytes),
                  unlimited_messages - static_cast<std::int64_t>(options.pending_messages), actor);
  core.gate.open_direct(std::move(route));
}

namespace {

// Under the table's lock: the channel's id, its OPEN queued on the transport, and where it is.
attachment send_open_locked(peer_context& context, connection_id conn, connection_lanes& lanes,
                            channel_core& core, std::uint64_t parent) {
  const auto id = lanes.next_channel_id;
  lanes.next_channel_id += 2;
  wire::frame open;
  open.kind = wire::frame_kind::open;
  open.channel = id;
  open.parent = parent;
  {
    std::lock_guard<std::mutex> lock(core.meta_mutex);
    open.service = core.meta.service;
    open.headers = core.meta.headers;
  }
  std::string encoded;
  wire::encode(open, encoded);
  context.net->send(conn, std::move(encoded));
  return {conn,
          id,
          parent,
          lanes.remote_id,
          lanes.remote_key,
          lanes.remote_window,
          lanes.remote_max_payload};
}

void add_lane_locked(connection_lanes& lanes, std::uint64_t id, const caf::actor& actor,
                     const std::shared_ptr<channel_core>& core) {
  auto& lane = lanes.channels[id];
  lane.actor = actor;
  lane.core = core;
  ++lanes.accepted;
}

}  // namespace

std::uint64_t attach_locked(peer_context& context, connection_id conn, connection_lanes& lanes,
                            const channel_ref& channel, std::uint64_t parent) {
  auto where = send_open_locked(context, conn, lanes, *channel.core, parent);
  const auto id = where.channel_id;
  add_lane_locked(lanes, id, channel.actor, channel.core);
  prepare_attached(*channel.core, where, context, channel.actor);
  // Under the lock: the attachment reaches the actor before anything the peer actor sends it
  // about the connection (which it learns under this lock).
  caf::anon_send(channel.actor, attach_atom::value, std::move(where));
  return id;
}

caf::actor open_from_caller(const std::shared_ptr<peer_context>& context,
                            const std::shared_ptr<channel_core>& core, const caf::actor& peer,
                            const std::string& target) {
  auto& table = *context->channels;
  auto lock = table.lock();
  auto hand_to_actor = [&] {
    ++table.opens_via_actor;
    return caf::actor{};
  };
  if (table.opens_via_actor > 0) return hand_to_actor();
  const auto remote = target.empty() ? context->rotation->pick() : target;
  if (remote.empty()) return hand_to_actor();
  const auto conn = table.preferred(remote);
  auto* lanes = conn ? table.find(conn) : nullptr;
  if (!lanes || !lanes->ready || lanes->closed) return hand_to_actor();
  auto where = send_open_locked(*context, conn, *lanes, *core, 0);
  const auto id = where.channel_id;
  // Spawned knowing its connection: no attach message. Under the lock, so that nothing the
  // peer actor sends it about the connection comes before it exists.
  auto actor = spawn_accepted_channel({core, context, peer, {}}, where);
  add_lane_locked(*lanes, id, actor, core);
  prepare_attached(*core, where, *context, actor);
  return actor;
}

}  // namespace duplex::detail
