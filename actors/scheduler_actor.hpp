// The round-robin scheduler: picks the remote peer for each channel opened without a target,
// among the peers that completed HELLO at that moment.
//   (peer_up_atom, std::string id)    (peer_down_atom, std::string id)
//   (next_atom) -> std::string        the next ready peer, empty when none
#pragma once

#include <caf/all.hpp>

#include <string>

namespace duplex::detail {

caf::actor spawn_scheduler(caf::actor_system& system, std::string owner_peer_id);

}  // namespace duplex::detail
