// The channel actor: owns one channel's protocol state (ids, credit, both streams' ends) and
// speaks for it on its connection. One small actor per channel keeps an idle channel cheap.
#pragma once

#include <caf/all.hpp>

#include <memory>

#include "actors/messages.hpp"

namespace duplex::detail {

struct channel_spawn_args {
  std::shared_ptr<channel_core> core;
  std::shared_ptr<peer_context> context;
  caf::actor peer;
  caf::actor parent;  // the enclosing channel's actor for nested channels
};

// A channel this peer opens: waits for `attach_atom` from the peer actor.
caf::actor spawn_channel(channel_spawn_args args);
// A channel whose connection is known when it is made (one the remote opened, or one sent by
// the thread that opened it): already attached.
caf::actor spawn_accepted_channel(channel_spawn_args args, attachment where);

}  // namespace duplex::detail
