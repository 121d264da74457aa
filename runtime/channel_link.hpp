// What a channel handle holds.
#pragma once

#include <caf/all.hpp>

#include <chrono>
#include <memory>
#include <optional>

#include "actors/messages.hpp"

namespace duplex::detail {

struct channel_link {
  std::shared_ptr<channel_core> core;
  caf::actor actor;
  std::shared_ptr<peer_context> context;
  caf::actor peer;
};

// The shared part of a channel this peer opens; a codec the headers name but the registry
// lacks is reported in `codec_error` (the core then has the default codec).
std::shared_ptr<channel_core> make_opened_core(const peer_context& context, std::string service,
                                               metadata headers, duplex::error* codec_error);

// Creates a channel this peer opens (not yet sent anywhere); `parent` for nested channels.
// The caller sends it to the peer actor (or to the parent) to have it opened.
std::unique_ptr<channel_link> make_opened_link(const std::shared_ptr<peer_context>& context,
                                               const caf::actor& peer, std::string service,
                                               metadata headers, const caf::actor& parent,
                                               duplex::error* codec_error);

// What the library itself needs of a channel beyond its public members.
struct channel_access {
  // channel::read(), except that the wait running out is nullopt rather than a
  // deadline_exceeded result, which a stream may also end with.
  static std::optional<read_result> read_or_time_out(channel& ch,
                                                     std::chrono::milliseconds timeout);
  // channel::on_finish() for a callback that ignores a channel that finished ok: unlike
  // on_finish(), it leaves a call's channel free to finish without its actor.
  static void on_failure(channel& ch, std::function<void(const error&)> callback);
  // channel::read_async() for a callback that neither blocks nor waits: the transport thread
  // runs it itself when it delivers the result (in a nonblocking_scope).
  static void read_async_nonblocking(channel& ch, std::function<void(read_result)> callback);
};

std::unique_ptr<channel_link> make_incoming_link(const std::shared_ptr<peer_context>& context,
                                                 const caf::actor& peer,
                                                 const channel_ref& incoming);

}  // namespace duplex::detail
