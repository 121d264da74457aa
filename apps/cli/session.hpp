// This process as a Duplex peer: a runtime, a peer and an RPC node (serving the built-in
// services plus whatever is added to services()), and the remote peer it talks to.
#pragma once

#include <duplex/duplex.hpp>
#include <duplex/rpc.hpp>

#include <memory>
#include <string>

#include "command_line.hpp"
#include "duration.hpp"

namespace duplex_cli {

class session {
 public:
  // Throws duplex::exception when the peer id is unusable. `keys`: CURVE, when it has a pair.
  session(const std::string& peer_id, const key_settings& keys);
  ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  // Binds or connects (with the server key of `keys`); returns the endpoint as bound (tcp port
  // 0 becomes the chosen port).
  duplex::result<std::string> open(const location& where);
  // Waits until a remote peer completed its handshake: its id. deadline_exceeded at
  // `deadline`; the reason when a connection was rejected (duplicate id, protocol version).
  duplex::result<std::string> wait_for_peer(clock::time_point deadline);

  duplex::rpc::node& rpc() { return node_; }
  duplex::rpc::service_registry& services() { return services_; }

 private:
  struct arrivals;

  std::shared_ptr<arrivals> arrivals_;  // shared with the event callback
  duplex::connect_options connect_;
  std::string connected_to_;  // the endpoint open() connected to
  duplex::runtime runtime_;
  duplex::peer peer_;
  duplex::rpc::service_registry services_;
  duplex::rpc::node node_;
};

// Opens `where` for a command that calls one remote peer and waits for that peer within the
// budget: in bind mode it says where it listens on stderr. Returns the remote peer's id.
duplex::result<std::string> meet_remote(session& s, const location& where,
                                        const time_budget& budget);

}  // namespace duplex_cli
