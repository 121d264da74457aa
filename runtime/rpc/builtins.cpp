// duplex.reflect, duplex.health and duplex.ping: what every node serves unless switched off.
#include "duplex/rpc/builtins.hpp"

#include "runtime/rpc/rpc_state.hpp"

namespace duplex::rpc::detail {

namespace {

service_summary summarize(const service& s) {
  service_summary out{s.name(), s.description(), s.version(), {}};
  for (auto& [name, entry] : s.methods()) out.methods.push_back(name);
  return out;
}

service_description describe(const service& s) {
  service_description out{s.name(), s.description(), s.version(), {}};
  for (auto& [name, entry] : s.methods())
    out.methods.push_back({name, std::string(to_string(entry.kind)), entry.info.description,
                           entry.info.request_type, entry.info.response_type, entry.request_fields,
                           entry.response_fields});
  return out;
}

}  // namespace

void node_core::add_builtins() {
  auto find_any = [this](const std::string& name) {
    auto s = builtins.find(name);
    return s ? s : services.find(name);
  };
  if (options.reflection) {
    service reflect("duplex.reflect", "Lists and describes the services this peer serves");
    reflect.unary<empty_message, service_list>(
        {"list", "Every service with its methods", "Empty", "ServiceList"},
        [this](const empty_message&, call_context&) -> result<service_list> {
          service_list out;
          for (auto& s : builtins.list()) out.services.push_back(summarize(*s));
          for (auto& s : services.list()) out.services.push_back(summarize(*s));
          return out;
        });
    reflect.unary<describe_request, service_description>(
        {"describe", "One service's methods: shape, message types and fields", "DescribeRequest",
         "ServiceDescription"},
        [find_any](const describe_request& r, call_context&) -> result<service_description> {
          auto s = find_any(r.service);
          if (!s) return error{errc::not_found, "no service '" + r.service + "'"};
          return describe(*s);
        });
    (void)builtins.add(std::move(reflect));
  }
  if (options.health) {
    service health("duplex.health", "Whether this peer's services are serving");
    health.unary<health_request, health_response>(
        {"check", "serving or not_serving; the node itself when service is empty", "HealthRequest",
         "HealthResponse"},
        [this](const health_request& r, call_context&) -> result<health_response> {
          if (r.service.empty()) return health_response{"serving"};
          auto serving = services.serving(r.service);
          if (!serving && builtins.find(r.service)) serving = true;
          if (!serving) return error{errc::not_found, "no service '" + r.service + "'"};
          return health_response{*serving ? "serving" : "not_serving"};
        });
    (void)builtins.add(std::move(health));
  }
  if (options.ping) {
    service ping("duplex.ping", "Answers with this peer's id and session");
    ping.unary<empty_message, ping_response>(
        {"ping", "This peer's id and session id", "Empty", "PingResponse"},
        [this](const empty_message&, call_context&) -> result<ping_response> {
          return ping_response{peer.id(), peer.session_id()};
        });
    (void)builtins.add(std::move(ping));
  }
}

}  // namespace duplex::rpc::detail
