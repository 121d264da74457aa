// What a channel handle holds.
#pragma once

#include <caf/all.hpp>

#include <memory>

#include "actors/messages.hpp"

namespace duplex::detail {

struct channel_link {
  std::shared_ptr<channel_core> core;
  caf::actor actor;
  std::shared_ptr<peer_context> context;
  caf::actor peer;
};

// Creates a channel this peer opens (not yet sent anywhere); `parent` for nested channels.
// The caller sends it to the peer actor (or to the parent) to have it opened.
std::unique_ptr<channel_link> make_opened_link(const std::shared_ptr<peer_context>& context,
                                               const caf::actor& peer, std::string service,
                                               metadata headers, const caf::actor& parent,
                                               duplex::error* codec_error);

std::unique_ptr<channel_link> make_incoming_link(const std::shared_ptr<peer_context>& context,
                                                 const caf::actor& peer,
                                                 const channel_ref& incoming);

}  // namespace duplex::detail
