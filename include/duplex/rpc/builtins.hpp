// The messages of the built-in services every node serves unless switched off
// (node_options): what `duplex list`, `duplex describe`, `duplex ping` and health checks use.
//
//   duplex.reflect/list      empty_message        -> service_list
//   duplex.reflect/describe  describe_request     -> service_description   (not_found)
//   duplex.health/check      health_request       -> health_response       (not_found)
//   duplex.ping/ping         empty_message        -> ping_response
#pragma once

#include <msgpack.hpp>

#include <string>
#include <vector>

namespace duplex::rpc {

// {} on the wire: an empty map.
struct empty_message {
  template <class Packer>
  void msgpack_pack(Packer& packer) const {
    packer.pack_map(0);
  }
  void msgpack_unpack(const msgpack::object& o) {
    if (o.type != msgpack::type::MAP && o.type != msgpack::type::NIL) throw msgpack::type_error();
  }
};

struct service_summary {
  std::string name;
  std::string description;
  std::string version;
  std::vector<std::string> methods;
  MSGPACK_DEFINE_MAP(name, description, version, methods)
};

struct service_list {
  std::vector<service_summary> services;
  MSGPACK_DEFINE_MAP(services)
};

struct describe_request {
  std::string service;
  MSGPACK_DEFINE_MAP(service)
};

struct method_summary {
  std::string name;
  std::string shape;  // unary, server_stream, client_stream, bidi, raw
  std::string description;
  std::string request_type;
  std::string response_type;
  std::vector<std::string> request_fields;
  std::vector<std::string> response_fields;
  MSGPACK_DEFINE_MAP(name, shape, description, request_type, response_type, request_fields,
                     response_fields)
};

struct service_description {
  std::string name;
  std::string description;
  std::string version;
  std::vector<method_summary> methods;
  MSGPACK_DEFINE_MAP(name, description, version, methods)
};

struct health_request {
  std::string service;  // empty: the node as a whole
  MSGPACK_DEFINE_MAP(service)
};

struct health_response {
  std::string status;  // "serving" or "not_serving"
  MSGPACK_DEFINE_MAP(status)
};

struct ping_response {
  std::string peer_id;
  std::string session_id;
  MSGPACK_DEFINE_MAP(peer_id, session_id)
};

}  // namespace duplex::rpc
