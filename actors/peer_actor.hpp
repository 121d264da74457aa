// The peer actor: owns a peer's connections (HELLO, BYE), allocates channel ids, routes
// frames to channel actors, keeps the pending queue of channels waiting for a remote peer and
// dispatches incoming channels to handlers, acceptor actors or the accept queue.
#pragma once

#include <caf/all.hpp>

#include <memory>

#include "actors/messages.hpp"

namespace duplex::detail {

caf::actor spawn_peer_actor(std::shared_ptr<peer_context> context);

}  // namespace duplex::detail
