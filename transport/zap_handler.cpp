#include "transport/zap_handler.hpp"

#include <vector>

// libzmq 4.3.4 implements ZMQ_ZAP_ENFORCE_DOMAIN but Debian's zmq.h offers it only with the
// DRAFT API. Without it a CURVE server admits every client when no handler answers.
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

namespace duplex::detail {

namespace {

constexpr const char* zap_endpoint = "inproc://zeromq.zap.01";

std::string text(const zmq::message_t& part) {
  return std::string(static_cast<const char*>(part.data()), part.size());
}

std::string z85_of(const zmq::message_t& part) {
  if (part.size() != 32) return {};
  char z85[41];
  if (!zmq_z85_encode(z85, static_cast<const std::uint8_t*>(part.data()), 32)) return {};
  return z85;
}

}  // namespace

void curve_server_options(zmq::socket_t& socket, const curve_keypair& keys,
                          const std::string& domain) {
  socket.set(zmq::sockopt::curve_server, 1);
  socket.set(zmq::sockopt::curve_secretkey, keys.secret_key);
  socket.set(zmq::sockopt::zap_domain, domain);
  int enforce = 1;
  if (zmq_setsockopt(socket.handle(), ZMQ_ZAP_ENFORCE_DOMAIN, &enforce, sizeof enforce) != 0)
    throw zmq::error_t();
}

void curve_client_options(zmq::socket_t& socket, const curve_keypair& keys,
                          const std::string& server_key) {
  socket.set(zmq::sockopt::curve_serverkey, server_key);
  socket.set(zmq::sockopt::curve_publickey, keys.public_key);
  socket.set(zmq::sockopt::curve_secretkey, keys.secret_key);
}

std::string authenticated_user(const zmq::message_t& message) {
  const char* user = zmq_msg_gets(message.handle(), "User-Id");
  return user ? user : "";
}

zap_handler::zap_handler(zmq::context_t& context, policy decide)
    : socket_(context, zmq::socket_type::rep), decide_(std::move(decide)) {
  socket_.set(zmq::sockopt::linger, 0);
  socket_.bind(zap_endpoint);
}

void zap_handler::answer_waiting() {
  while (true) {
    std::vector<zmq::message_t> parts;
    do {
      zmq::message_t part;
      if (!socket_.recv(part, zmq::recv_flags::dontwait)) {
        if (parts.empty()) return;
        break;
      }
      parts.push_back(std::move(part));
    } while (parts.back().more());
    // RFC 27: version, request id, domain, address, identity, mechanism, credentials...
    zap_verdict verdict;
    std::string version = parts.empty() ? "" : text(parts[0]);
    std::string request_id = parts.size() > 1 ? text(parts[1]) : "";
    if (parts.size() < 6 || version != "1.0") {
      verdict.reason = "malformed ZAP request";
    } else {
      zap_request request{text(parts[2]), text(parts[3]), text(parts[5]), {}};
      if (request.mechanism == "CURVE" && parts.size() >= 7) request.client_key = z85_of(parts[6]);
      try {
        verdict = decide_(request);
      } catch (const std::exception& e) {
        verdict = {false, std::string("the ZAP policy failed: ") + e.what(), {}};
      }
    }
    // 200 admits; 400 refuses the client's credentials; 500 is the handler's own failure.
    const char* status = verdict.allowed ? "200" : (parts.size() < 6 ? "500" : "400");
    socket_.send(zmq::buffer(std::string("1.0")), zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(request_id), zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(std::string(status)), zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(verdict.reason), zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(verdict.user_id), zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(std::string()), zmq::send_flags::none);
  }
}

}  // namespace duplex::detail
