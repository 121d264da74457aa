// The round-robin scheduler: picks the remote peer for each channel opened without a target,
// among the peers that completed HELLO at that moment. Its rotation is shared (round_robin.hpp)
// with threads that open channels themselves.
//   (peer_up_atom, std::string id)    (peer_down_atom, std::string id)
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
