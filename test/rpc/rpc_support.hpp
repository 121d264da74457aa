// Two connected peers with an RPC node each: the fixture of the RPC suites.
#pragma once

#include <duplex/rpc.hpp>

#include "support.hpp"

namespace duplex::testing {

struct add_request {
  int a = 0;
  int b = 0;
  MSGPACK_DEFINE_MAP(a, b)
};

struct add_reply {
  int sum = 0;
  MSGPACK_DEFINE_MAP(sum)
};

struct blob {
  std::vector<std::uint8_t> body;
  MSGPACK_DEFINE_MAP(body)
};

inline blob make_blob(std::size_t size) {
  return blob{make_payload(size)};
}

// `server` binds, `client` connects; both serve their own registry and call the other.
struct rpc_pair {
  explicit rpc_pair(rpc::node_options server_options = {}, rpc::node_options client_options = {},
                    peer_options peer_settings = {})
      : server(rt, named(peer_settings, "server")), client(rt, named(peer_settings, "client")) {
    auto endpoint = server.bind("tcp://127.0.0.1:0");
    BOOST_REQUIRE(endpoint.ok());
    server_node.emplace(server, server_services, std::move(server_options));
    client_node.emplace(client, client_services, std::move(client_options));
    BOOST_REQUIRE(client.connect(*endpoint).ok());
    BOOST_REQUIRE(eventually([&] { return !client.peers().empty() && !server.peers().empty(); }));
  }

  static peer_options named(peer_options o, std::string id) {
    o.peer_id = std::move(id);
    return o;
  }

  // Registers `s` with the server (or the client) and returns it back for chaining.
  void serve(rpc::service s) { BOOST_REQUIRE(server_services.add(std::move(s)).ok()); }
  void serve_on_client(rpc::service s) { BOOST_REQUIRE(client_services.add(std::move(s)).ok()); }

  runtime rt;
  peer server;
  peer client;
  rpc::service_registry server_services;
  rpc::service_registry client_services;
  std::optional<rpc::node> server_node;
  std::optional<rpc::node> client_node;

  rpc::node& caller() { return *client_node; }

  ~rpc_pair() {
    client_node.reset();
    server_node.reset();
  }
};

// Call options with a deadline: the tests' wait limit unless given.
inline rpc::call_options within(std::chrono::milliseconds timeout = wait_limit) {
  rpc::call_options o;
  o.timeout = timeout;
  return o;
}

inline rpc::service calc_service() {
  rpc::service calc("calc", "Integer arithmetic", "1.2.0");
  calc.unary<add_request, add_reply>(
      {"add", "Adds two integers", "AddRequest", "AddReply"},
      [](const add_request& r, rpc::call_context&) -> result<add_reply> {
        return add_reply{r.a + r.b};
      });
  return calc;
}

}  // namespace duplex::testing
