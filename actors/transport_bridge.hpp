// What the transport thread does with a connection's events: most go to the peer actor, but
// the streams of open channels are applied here, on the transport thread, straight to their
// inboxes, so that a message wakes its reader without passing through two actors first; and
// an OPEN for a service with a handler is accepted here, its handler started once the batch's
// frames for it are in its inbox (a unary request arrives whole: the handler never waits).
#pragma once

#include <caf/actor.hpp>

#include <memory>

#include "actors/channel_table.hpp"
#include "actors/messages.hpp"
#include "transport/transport.hpp"

namespace duplex::detail {

// `connection_window`: the receive side's limit on DATA held per connection (peer_options).
// `context`: the peer's, held weakly (it owns the transport this bridge belongs to).
std::shared_ptr<transport_events> make_transport_bridge(caf::actor peer,
                                                        std::weak_ptr<peer_context> context,
                                                        std::shared_ptr<channel_table> channels,
                                                        std::uint64_t connection_window);

}  // namespace duplex::detail
