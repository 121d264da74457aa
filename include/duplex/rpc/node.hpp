// An RPC node: serves a registry's services on a peer and calls the services of remote
// peers; both at once, in both directions on one connection.
//
//   duplex::rpc::service_registry services;
//   services.add(std::move(calc));
//   duplex::rpc::node rpc(peer, services);
//   auto sum = rpc.call<add_reply>("calc/add", add_request{1, 2}, {.timeout = 500ms});
//
// A call is a channel whose service name is "service/method"; see docs/PROTOCOL.md, "RPC".
// Thread contract: every member is thread-safe. The peer and the registry must outlive the
// node; destroying the node stops serving, cancels the calls it serves and waits for their
// handlers to return.
#pragma once

#include <memory>
#include <vector>

#include "duplex/peer.hpp"
#include "duplex/rpc/client.hpp"
#include "duplex/rpc/interceptor.hpp"
#include "duplex/rpc/service.hpp"

namespace duplex::rpc {

namespace detail {
struct node_core;
}

struct node_options {
  // Built-in services, each switchable off: duplex.reflect (list/describe), duplex.health
  // (check), duplex.ping (ping).
  bool reflection = true;
  bool health = true;
  bool ping = true;
  // How deep callbacks may nest (a callback calling a callback ...); deeper calls fail with
  // resource_exhausted.
  std::size_t max_callback_depth = 16;
  // Run in order on every call this node makes (client) or serves (server).
  std::vector<std::shared_ptr<interceptor>> client_interceptors = {};
  std::vector<std::shared_ptr<interceptor>> server_interceptors = {};
};

class node : public caller {
 public:
  node(peer& p, service_registry& services, node_options options = {});
  ~node() override;
  node(const node&) = delete;
  node& operator=(const node&) = delete;

  call_stream open_call(std::string method, call_options options = {},
                        bool oneway = false) override;

  // Calls being served right now (for monitoring and leak checks).
  std::size_t active_calls() const;

  duplex::peer& local_peer();
  service_registry& services();
  const node_options& options() const;
  detail::node_core& core() { return *core_; }

 private:
  std::shared_ptr<detail::node_core> core_;
};

}  // namespace duplex::rpc
