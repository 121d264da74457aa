// What the transport thread does with a connection's events: most go to the peer actor, but
// the streams of open channels are applied here, on the transport thread, straight to their
// inboxes, so that a message wakes its reader without passing through two actors first.
#pragma once

#include <caf/actor.hpp>

#include <memory>

#include "actors/channel_table.hpp"
#include "transport/transport.hpp"

namespace duplex::detail {

// `connection_window`: the receive side's limit on DATA held per connection (peer_options).
std::shared_ptr<transport_events> make_transport_bridge(caf::actor peer,
                                                        std::shared_ptr<channel_table> channels,
                                                        std::uint64_t connection_window);

}  // namespace duplex::detail
