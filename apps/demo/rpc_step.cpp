#include "demo/rpc_step.hpp"

#include <duplex/rpc.hpp>

#include <atomic>
#include <chrono>
#include <sstream>
#include <string>

namespace duplex_demo {

namespace {

using namespace std::chrono_literals;
namespace rpc = duplex::rpc;

std::string number(double x) {
  std::ostringstream text;
  text << x;
  return text.str();
}

struct conversion {
  double celsius = 0;
  MSGPACK_DEFINE_MAP(celsius)
};

struct converted {
  double fahrenheit = 0;
  MSGPACK_DEFINE_MAP(fahrenheit)
};

struct note {
  std::string text;
  MSGPACK_DEFINE_MAP(text)
};

// The server's service: converts, telling the caller's `progress` callback on the way.
rpc::service thermo_service(console& out, const std::string& server_id) {
  rpc::service thermo("thermo", "Temperature conversions", "1.0.0");
  thermo.unary<conversion, converted>(
      {"to_fahrenheit", "Celsius to Fahrenheit", "Conversion", "Converted"},
      [&out, server_id](const conversion& c, rpc::call_context& ctx) -> duplex::result<converted> {
        auto ack = ctx.callbacks().call<note>("progress", note{"converting " + number(c.celsius)});
        if (!ack) return ack.error();
        out.say(server_id, "callback answered '" + ack->text + "'");
        return converted{c.celsius * 9 / 5 + 32};
      });
  thermo.unary<conversion, converted>(
      {"slow", "Waits until the caller gives up", "Conversion", "Converted"},
      [&out, server_id](const conversion&, rpc::call_context& ctx) -> duplex::result<converted> {
        ctx.wait_cancelled(wait_limit);
        out.say(server_id, "handler told: " + ctx.cancel_reason().to_string());
        return converted{};
      });
  return thermo;
}

}  // namespace

void rpc_calls(duplex::peer& client, duplex::peer& server, console& out) {
  out.heading(7, "RPC: typed calls, a callback, a deadline, and calls both ways");
  rpc::service_registry server_services;
  require(server_services.add(thermo_service(out, server.id())), "register thermo");
  rpc::service_registry client_services;
  rpc::service whoami("client.info");
  whoami.unary<note, note>({"whoami"},
                           [&client](const note&, rpc::call_context& ctx) -> duplex::result<note> {
                             return note{client.id() + ", called by " + ctx.peer_id()};
                           });
  require(client_services.add(std::move(whoami)), "register client.info");
  rpc::node server_rpc(server, server_services);
  rpc::node client_rpc(client, client_services);

  auto callbacks = std::make_shared<rpc::callback_set>("callbacks");
  callbacks->unary<note, note>(
      {"progress"}, [&out, &client](const note& n, rpc::call_context&) -> duplex::result<note> {
        out.say(client.id(), "progress: " + n.text);
        return note{"carry on"};
      });
  rpc::call_options options;
  options.peer = server.id();
  options.timeout = wait_limit;
  options.callbacks = callbacks;
  out.say(client.id(), "calls thermo/to_fahrenheit {celsius: 100} with a callback");
  auto hot = require(client_rpc.call<converted>("thermo/to_fahrenheit", conversion{100}, options),
                     "thermo/to_fahrenheit");
  out.say(client.id(), "answer: " + number(hot.fahrenheit) + " F");
  require(hot.fahrenheit == 212, "100 C should be 212 F");

  rpc::call_options hurried;
  hurried.peer = server.id();
  hurried.timeout = 200ms;
  out.say(client.id(), "calls thermo/slow with a 200 ms deadline");
  auto started = std::chrono::steady_clock::now();
  auto late = client_rpc.call<converted>("thermo/slow", conversion{}, hurried);
  auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  require(late.code() == duplex::errc::deadline_exceeded, "thermo/slow should time out");
  require(waited >= 200ms, "the deadline must not fire early");
  out.say(client.id(),
          late.error().to_string() + " after " + std::to_string(waited.count()) + " ms");

  rpc::call_options back;
  back.peer = client.id();
  back.timeout = wait_limit;
  auto who = require(server_rpc.call<note>("client.info/whoami", note{}, back),
                     "the server calls the client");
  out.say(server.id(), "called the client back on the same connection: '" + who.text + "'");
  out.passed(7, "a typed call with a callback, a deadline, and a call the other way");
}

}  // namespace duplex_demo
