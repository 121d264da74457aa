// What a peer handle owns; shared with the RPC layer, which runs its handlers on the pool.
#pragma once

#include <caf/actor.hpp>

#include <memory>

#include "actors/messages.hpp"
#include "duplex/runtime.hpp"
#include "runtime/handler_pool.hpp"

namespace duplex::detail {

struct peer_state {
  runtime* rt = nullptr;
  std::shared_ptr<peer_context> context;
  caf::actor actor;
  std::unique_ptr<handler_pool> pool;
  bool shut_down = false;
};

}  // namespace duplex::detail
