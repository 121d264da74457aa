// Duplex's ZAP handler (ZeroMQ RFC 27): decides, inside the transport's own ZeroMQ context,
// which clients may finish a CURVE handshake with a bound endpoint. libzmq asks it over
// inproc://zeromq.zap.01; the transport thread answers between its other work.
//
// It fails closed together with curve_server_options(): a CURVE server socket names a ZAP
// domain and enforces it, so with no handler answering every client is refused (stock libzmq
// would let any CURVE key in).
#pragma once

#include <zmq.hpp>

#include <functional>
#include <string>

#include "duplex/security.hpp"

namespace duplex::detail {

struct zap_request {
  std::string domain;
  std::string address;     // the client's IP address
  std::string mechanism;   // "NULL", "PLAIN" or "CURVE"
  std::string client_key;  // CURVE: the client's public key in Z85, else empty
};

struct zap_verdict {
  bool allowed = false;
  std::string reason;   // status text of a refusal, for the server's logs
  std::string user_id;  // attached to the client's messages as "User-Id" when allowed
};

// Applies the options of a CURVE server that only the ZAP handler of `domain` can admit.
void curve_server_options(zmq::socket_t& socket, const curve_keypair& keys,
                          const std::string& domain);
// Applies the options of a CURVE client of the server with public key `server_key`.
void curve_client_options(zmq::socket_t& socket, const curve_keypair& keys,
                          const std::string& server_key);

// What a socket's message says about its sender's authentication: the "User-Id" property
// (the client's public key for CURVE), or empty.
std::string authenticated_user(const zmq::message_t& message);

class zap_handler {
 public:
  using policy = std::function<zap_verdict(const zap_request&)>;
  // Binds inproc://zeromq.zap.01 in `context` (one handler per context).
  zap_handler(zmq::context_t& context, policy decide);

  zmq::socket_t& socket() { return socket_; }
  // Answers the requests waiting on the socket; never blocks.
  void answer_waiting();

 private:
  zmq::socket_t socket_;
  policy decide_;
};

}  // namespace duplex::detail
