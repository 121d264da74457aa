// A peer: client and server at once. It binds and connects to any number of endpoints, opens
// channels to remote peers (round-robin or by id) and accepts the channels they open.
//
// Thread contract: every member is thread-safe except move, assignment and destruction.
// bind/unbind/connect/disconnect/handle/peers/next_peer wait briefly for the transport or the
// peer's actor; open() never waits (everything is queued); accept() waits up to its timeout.
// Handlers registered with handle() run on the peer's handler pool (handler_threads), never on
// a CAF worker, and may block. Event callbacks run on an actor thread and must not block.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "duplex/channel.hpp"
#include "duplex/options.hpp"
#include "duplex/runtime.hpp"

namespace duplex {

namespace detail {
struct peer_state;
}

// Connection-level happenings, for logs and tests.
struct peer_event {
  enum class kind {
    connected,     // HELLO exchange completed with remote_peer_id
    disconnected,  // the connection to remote_peer_id is gone (`reason`)
    rejected,      // a connection failed its HELLO (version, duplicate id) or sent BYE, or a
                   // connected endpoint failed its handshake (remote_peer_id is then the endpoint)
  };
  kind what;
  std::string remote_peer_id;
  error reason;
};

using channel_handler = std::function<void(channel)>;

class peer {
 public:
  // Throws duplex::exception (invalid_argument) if options.validate() fails.
  explicit peer(runtime& rt, peer_options options = {});
  ~peer();  // shutdown()
  peer(peer&&) noexcept;
  peer& operator=(peer&&) noexcept;

  const std::string& id() const;
  const std::string& session_id() const;

  // Endpoints: tcp://host:port, ipc://path, inproc://name. bind() returns the endpoint
  // actually bound (tcp port 0 becomes the chosen port). Bad strings and unknown transports
  // give invalid_argument.
  result<std::string> bind(const std::string& endpoint);
  result<void> unbind(const std::string& endpoint);
  // With CURVE (options.security), connecting needs the bound peer's public key: from
  // `options`, else security.server_key. While no remote peer is ready and a connected
  // endpoint's last handshake failed (refused key, wrong server key, CURVE on one side only),
  // open() fails at once with that error (unauthenticated, or unavailable) instead of waiting;
  // ZeroMQ keeps retrying the endpoint with backoff, and the next success clears it.
  result<void> connect(const std::string& endpoint, const connect_options& options = {});
  result<void> disconnect(const std::string& endpoint);

  // Opens a channel to the next remote peer chosen by the round-robin scheduler when one is
  // ready; until then the channel and what is written to it wait in the pending queue.
  channel open(std::string service, metadata headers = {});
  // Opens a channel to one remote peer; the channel fails with unavailable if it is not
  // connected.
  channel open_to(std::string remote_peer_id, std::string service, metadata headers = {});

  // Routes incoming channels for `service` to `handler`, run on the handler pool. Channels for
  // services with no handler go to accept() when options.accept_unhandled, otherwise the
  // opener gets unimplemented.
  void handle(std::string service, channel_handler handler);
  // Routes incoming channels for every service that has no handler of its own to `handler`
  // (before accept_unhandled is considered); the RPC layer serves its services this way.
  // nullptr removes it.
  void handle_default(channel_handler handler);
  // The next incoming channel without a handler. failed_precondition unless accept_unhandled.
  result<channel> accept(std::chrono::milliseconds timeout = forever);
  // `callback` runs once with the next incoming channel (or the error) without a thread
  // waiting meanwhile: on this thread if one is queued, else on a Duplex actor thread.
  void accept_async(std::function<void(result<channel>)> callback);

  // Remote peers that completed HELLO, each once.
  std::vector<std::string> peers() const;
  // The peer the scheduler would pick next (advances the round robin); empty if none.
  std::string next_peer();
  // Sends BYE to that peer and ignores its further frames; its channels fail with unavailable.
  result<void> drop(const std::string& remote_peer_id);

  // Replaces the event callback (nullptr removes it). When this returns, the previous
  // callback is not running and will not run again. Not called during shutdown().
  // Channels of this peer that are open on a connection or wait to be sent (for monitoring
  // and leak checks).
  std::size_t channel_count() const;

  void on_event(std::function<void(const peer_event&)> callback);

  // Stops accepting, fails the channels the application did not close (unavailable at the
  // remote), sends what is queued within the linger option and closes the sockets.
  void shutdown();

  // ---- actor face ----
  caf::actor actor() const;

  detail::peer_state& state() { return *state_; }

 private:
  std::unique_ptr<detail::peer_state> state_;
};

}  // namespace duplex
