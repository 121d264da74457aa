// The round-robin scheduler: picks the remote peer for each channel the peer actor sends
// without a target, among the peers that completed HELLO at that moment. Its rotation
// (round_robin.hpp) is shared with threads that open channels themselves and take their turn
// from it directly; the peer actor adds a remote peer at HELLO, before it reports it connected,
// and removes it when its last connection goes.
//   (next_atom) -> std::string        the next ready peer, empty when none
#pragma once

#include <caf/all.hpp>

#include <memory>
#include <string>

#include "actors/round_robin.hpp"

namespace duplex::detail {

caf::actor spawn_scheduler(caf::actor_system& system, std::string owner_peer_id,
                           std::shared_ptr<round_robin> rotation);

}  // namespace duplex::detail
