#include "actors/scheduler_actor.hpp"

#include <string>

#include "actors/messages.hpp"

namespace duplex::detail {

namespace {

struct scheduler_state {
  std::string owner;  // the peer this scheduler picks for (for diagnostics)
  std::shared_ptr<round_robin> rotation;
};

caf::behavior scheduler(caf::stateful_actor<scheduler_state>* self, std::string owner,
                        std::shared_ptr<round_robin> rotation) {
  self->state.owner = std::move(owner);
  self->state.rotation = std::move(rotation);
  return {
      [self](next_atom) -> std::string { return self->state.rotation->pick(); },
  };
}

}  // namespace

caf::actor spawn_scheduler(caf::actor_system& system, std::string owner_peer_id,
                           std::shared_ptr<round_robin> rotation) {
  return system.spawn<caf::hidden>(scheduler, std::move(owner_peer_id), std::move(rotation));
}

}  // namespace duplex::detail
