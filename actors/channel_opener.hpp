// Sending a channel this peer opens: the id, the OPEN and the channel's lane, under the channel
// table's lock so that ids leave each connection in increasing order whichever thread sends.
// The peer actor sends channels that wait for a remote peer and nested ones; the thread that
// opens a channel sends it itself when a remote peer is ready and no earlier open waits in the
// peer actor (open_from_caller), so that an open costs no actor round trip and the request
// written right after it goes straight to the transport.
#pragma once

#include <string>

#include "actors/messages.hpp"

namespace duplex::detail {

// Under the table's lock, `lanes` ready: allocates the channel's id, queues its OPEN on the
// transport, records its lane, readies its core for the connection and sends its actor the
// attachment. Returns the channel's id.
std::uint64_t attach_locked(peer_context& context, connection_id conn, connection_lanes& lanes,
                            const channel_ref& channel, std::uint64_t parent);

// What the channel's actor would otherwise do once it learns its connection, done before any
// writer has the channel: the remote's window replaces the pending-queue bound, the transport
// thread may apply the remote's stream, and writers may use the direct route. Every channel is
// readied so before its actor sees its attachment.
void prepare_attached(channel_core& core, const attachment& where, const peer_context& context,
                      const caf::actor& actor);

// For a channel just made on the calling thread, whose actor does not exist yet: sends it to
// `target` (empty: the remote peer the scheduler's rotation picks) if that can be done here,
// and returns its actor, spawned already attached. Empty: spawn the actor and hand the channel
// to the peer actor, which queues, fails or sends it (opens_via_actor was counted for it).
caf::actor open_from_caller(const std::shared_ptr<peer_context>& context,
                            const std::shared_ptr<channel_core>& core, const caf::actor& peer,
                            const std::string& target);

}  // namespace duplex::detail
