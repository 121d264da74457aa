// Internal messages between Duplex's actors (the public ones are in duplex/actor_face.hpp).
#pragma once

#include <caf/all.hpp>

#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "actors/channel_core.hpp"
#include "actors/channel_table.hpp"
#include "actors/round_robin.hpp"
#include "codec/frame.hpp"
#include "duplex/actor_face.hpp"
#include "duplex/peer.hpp"
#include "transport/transport.hpp"

namespace duplex::detail {

// transport -> peer
using conn_up_atom = caf::atom_constant<caf::atom("conn_up")>;
using frames_atom = caf::atom_constant<caf::atom("frames")>;
using conn_down_atom = caf::atom_constant<caf::atom("conn_down")>;
using authenticated_atom = caf::atom_constant<caf::atom("authentic")>;
using connect_failed_atom = caf::atom_constant<caf::atom("connfail")>;
// handles / channels -> peer
using open_on_atom = caf::atom_constant<caf::atom("open_on")>;
using handle_atom = caf::atom_constant<caf::atom("handle")>;
using handle_default_atom = caf::atom_constant<caf::atom("handle_def")>;
using peers_atom = caf::atom_constant<caf::atom("peers")>;
using drop_atom = caf::atom_constant<caf::atom("drop")>;
using shutdown_atom = caf::atom_constant<caf::atom("shutdown")>;
using events_atom = caf::atom_constant<caf::atom("events")>;
using count_atom = caf::atom_constant<caf::atom("count")>;
// peer -> scheduler
using next_atom = caf::atom_constant<caf::atom("next")>;
// peer / handles -> channel
using attach_atom = caf::atom_constant<caf::atom("attach")>;
using inbound_atom = caf::atom_constant<caf::atom("inbound")>;
using out_atom = caf::atom_constant<caf::atom("out")>;
using credit_atom = caf::atom_constant<caf::atom("credit")>;
using fail_atom = caf::atom_constant<caf::atom("fail")>;
using dropped_atom = caf::atom_constant<caf::atom("dropped")>;
using nested_atom = caf::atom_constant<caf::atom("nested")>;
using nested_in_atom = caf::atom_constant<caf::atom("nested_in")>;
using parent_end_atom = caf::atom_constant<caf::atom("parent_end")>;
// transport thread -> channel: readers' callbacks to run, and whether it applied the stream's end
using wake_atom = caf::atom_constant<caf::atom("wake")>;

// Where a channel was sent: everything it needs to speak on its connection.
struct attachment {
  connection_id conn = 0;
  std::uint64_t channel_id = 0;
  std::uint64_t parent_id = 0;
  std::string remote_peer_id;
  std::string remote_key;
  std::uint64_t remote_window = 0;
  std::uint64_t remote_max_payload = 0;
};

struct frame_batch {
  std::vector<wire::frame> frames;
  // The first DATA frame that took the remote beyond this peer's connection window when it
  // arrived (the transport thread checks them in order): the connection ends there.
  std::size_t window_exceeded_at = std::numeric_limits<std::size_t>::max();
  // Parents of nested OPENs in the batch whose frames the transport thread now passes to the
  // actors too (channel_lane::via_actors), so that none overtakes the OPEN: the peer actor
  // releases each once it has taken the OPEN.
  std::vector<std::uint64_t> parents_held;
};

using handler_ptr = std::shared_ptr<const channel_handler>;
using event_callback = std::function<void(const peer_event&)>;
using channel_ref_ptr = std::shared_ptr<channel_ref>;

// What a peer's actors share, fixed at the peer's construction (read-only afterwards except
// for thread-safe members).
struct peer_context {
  caf::actor_system* system = nullptr;
  std::shared_ptr<transport> net;
  owner_id owner = 0;
  peer_options options;
  std::string peer_id;
  std::string session_id;
  const codec_registry* codecs = nullptr;
  // Incoming channels without a handler (accept_unhandled); nullptr as terminal.
  handoff_queue<channel_ref_ptr> accepted;
  // Where log lines go; nullptr: nowhere.
  std::shared_ptr<spdlog::logger> logger;
  // Every connection's channels, shared with the transport thread.
  std::shared_ptr<channel_table> channels = std::make_shared<channel_table>();
  // The scheduler's rotation, shared with threads that open channels themselves.
  std::shared_ptr<round_robin> rotation = std::make_shared<round_robin>();
  // Runs a blocking handler on the handler pool.
  std::function<void(channel_ref_ptr, handler_ptr)> run_handler;
  // Runs a handler on the calling thread (the transport thread), unable to wait (see
  // nonblocking_scope).
  std::function<void(channel_ref_ptr, handler_ptr)> run_handler_here;
  // Whether the handler of a service neither blocks nor waits, so that the transport thread
  // may run it when its whole request is in (set by an RPC node; std::atomic_load/store).
  using nonblocking_test = std::function<bool(const std::string& service)>;
  std::shared_ptr<const nonblocking_test> nonblocking;
};

}  // namespace duplex::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(duplex::detail::frame_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(duplex::detail::attachment)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(duplex::detail::outbound_op)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(duplex::wire::frame)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(duplex::error)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(duplex::detail::handler_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(duplex::detail::event_callback)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(duplex::detail::channel_ref_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(duplex::result<void>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(duplex::detail::deferred_calls)
