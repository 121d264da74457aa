// The built-in services: duplex.reflect (list, describe), duplex.health (check) and
// duplex.ping (ping), and switching them off.
#include <boost/test/unit_test.hpp>

#include <algorithm>

#include "rpc/rpc_support.hpp"

using namespace duplex;
using namespace duplex::testing;

namespace {

// A service with one method of every shape.
rpc::service shapes_service() {
  rpc::service s("shapes", "One method of each shape", "0.3.1");
  s.server_stream<add_request, add_reply>({"count", "Counts up to a", "AddRequest", "AddReply"},
                                          [](const add_request&, rpc::writer<add_reply>&,
                                             rpc::call_context&) -> result<void> { return {}; });
  s.client_stream<add_request, add_reply>(
      {"total", "Sums every request", "AddRequest", "AddReply"},
      [](rpc::reader<add_request>&, rpc::call_context&) -> result<add_reply> {
        return add_reply{};
      });
  s.bidi<add_request, add_reply>({"running", "Running sums", "AddRequest", "AddReply"},
                                 [](rpc::reader<add_request>&, rpc::writer<add_reply>&,
                                    rpc::call_context&) -> result<void> { return {}; });
  s.raw({"bytes", "Bytes in, bytes out"},
        [](rpc::call_stream&, rpc::call_context&) -> error { return {}; });
  return s;
}

const rpc::service_summary* find_summary(const rpc::service_list& list, const std::string& name) {
  auto it = std::find_if(list.services.begin(), list.services.end(),
                         [&](const rpc::service_summary& s) { return s.name == name; });
  return it == list.services.end() ? nullptr : &*it;
}

const rpc::method_summary* find_method(const rpc::service_description& d, const std::string& name) {
  auto it = std::find_if(d.methods.begin(), d.methods.end(),
                         [&](const rpc::method_summary& m) { return m.name == name; });
  return it == d.methods.end() ? nullptr : &*it;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(builtins)

BOOST_AUTO_TEST_CASE(reflect_list_names_every_service_with_version_and_description) {
  rpc_pair pair;
  pair.serve(calc_service());
  pair.serve(shapes_service());
  auto list =
      pair.caller().call<rpc::service_list>("duplex.reflect/list", rpc::empty_message{}, within());
  BOOST_REQUIRE_MESSAGE(list.ok(), list.error().to_string());

  auto* calc = find_summary(*list, "calc");
  BOOST_REQUIRE(calc != nullptr);
  BOOST_TEST(calc->description == "Integer arithmetic");
  BOOST_TEST(calc->version == "1.2.0");
  BOOST_TEST(calc->methods == std::vector<std::string>{"add"}, boost::test_tools::per_element());
  auto* shapes = find_summary(*list, "shapes");
  BOOST_REQUIRE(shapes != nullptr);
  BOOST_TEST(shapes->version == "0.3.1");
  BOOST_TEST(shapes->methods.size() == 4u);
  for (auto name : {"duplex.reflect", "duplex.health", "duplex.ping"})
    BOOST_TEST(find_summary(*list, name) != nullptr, name);
  // Services added while serving show up at once.
  rpc::service late("late", "Added later", "2.0.0");
  late.raw({"noop"}, [](rpc::call_stream&, rpc::call_context&) -> error { return {}; });
  pair.serve(std::move(late));
  auto again =
      pair.caller().call<rpc::service_list>("duplex.reflect/list", rpc::empty_message{}, within());
  BOOST_REQUIRE_MESSAGE(again.ok(), again.error().to_string());
  BOOST_TEST(find_summary(*again, "late") != nullptr);
}

BOOST_AUTO_TEST_CASE(reflect_describe_gives_shapes_types_fields_and_descriptions) {
  rpc_pair pair;
  pair.serve(calc_service());
  pair.serve(shapes_service());
  auto calc = pair.caller().call<rpc::service_description>("duplex.reflect/describe",
                                                           rpc::describe_request{"calc"}, within());
  BOOST_REQUIRE_MESSAGE(calc.ok(), calc.error().to_string());
  BOOST_TEST(calc->name == "calc");
  BOOST_TEST(calc->description == "Integer arithmetic");
  BOOST_TEST(calc->version == "1.2.0");
  BOOST_REQUIRE(calc->methods.size() == 1u);
  auto& add = calc->methods[0];
  BOOST_TEST(add.name == "add");
  BOOST_TEST(add.shape == "unary");
  BOOST_TEST(add.description == "Adds two integers");
  BOOST_TEST(add.request_type == "AddRequest");
  BOOST_TEST(add.response_type == "AddReply");
  BOOST_TEST(add.request_fields == (std::vector<std::string>{"a", "b"}),
             boost::test_tools::per_element());
  BOOST_TEST(add.response_fields == std::vector<std::string>{"sum"},
             boost::test_tools::per_element());

  auto shapes = pair.caller().call<rpc::service_description>(
      "duplex.reflect/describe", rpc::describe_request{"shapes"}, within());
  BOOST_REQUIRE_MESSAGE(shapes.ok(), shapes.error().to_string());
  BOOST_TEST(shapes->description == "One method of each shape");
  const std::vector<std::pair<std::string, std::string>> expected{{"count", "server_stream"},
                                                                  {"total", "client_stream"},
                                                                  {"running", "bidi"},
                                                                  {"bytes", "raw"}};
  for (auto& [name, shape] : expected) {
    auto* m = find_method(*shapes, name);
    BOOST_REQUIRE_MESSAGE(m != nullptr, name);
    BOOST_TEST(m->shape == shape);
  }
  auto* raw = find_method(*shapes, "bytes");
  BOOST_REQUIRE(raw != nullptr);
  BOOST_TEST(raw->description == "Bytes in, bytes out");
  BOOST_TEST(raw->request_fields.empty());

  // The built-in services describe themselves too.
  auto health = pair.caller().call<rpc::service_description>(
      "duplex.reflect/describe", rpc::describe_request{"duplex.health"}, within());
  BOOST_REQUIRE_MESSAGE(health.ok(), health.error().to_string());
  auto* check = find_method(*health, "check");
  BOOST_REQUIRE(check != nullptr);
  BOOST_TEST(check->request_fields == std::vector<std::string>{"service"},
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(reflect_describe_of_an_unknown_service_is_not_found) {
  rpc_pair pair;
  pair.serve(calc_service());
  auto missing = pair.caller().call<rpc::service_description>(
      "duplex.reflect/describe", rpc::describe_request{"nope"}, within());
  BOOST_TEST(missing.code() == errc::not_found);
  BOOST_TEST(missing.error().message.find("nope") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(health_check_reports_serving_not_serving_and_not_found) {
  rpc_pair pair;
  pair.serve(calc_service());
  auto check = [&](const std::string& service) {
    return pair.caller().call<rpc::health_response>("duplex.health/check",
                                                    rpc::health_request{service}, within());
  };
  auto node = check("");
  BOOST_REQUIRE_MESSAGE(node.ok(), node.error().to_string());
  BOOST_TEST(node->status == "serving");
  auto calc = check("calc");
  BOOST_REQUIRE_MESSAGE(calc.ok(), calc.error().to_string());
  BOOST_TEST(calc->status == "serving");

  pair.server_services.set_serving("calc", false);
  auto down = check("calc");
  BOOST_REQUIRE_MESSAGE(down.ok(), down.error().to_string());
  BOOST_TEST(down->status == "not_serving");
  pair.server_services.set_serving("calc", true);
  auto up = check("calc");
  BOOST_REQUIRE_MESSAGE(up.ok(), up.error().to_string());
  BOOST_TEST(up->status == "serving");

  auto missing = check("nope");
  BOOST_TEST(missing.code() == errc::not_found);
}

BOOST_AUTO_TEST_CASE(ping_answers_with_the_servers_peer_id_and_session) {
  rpc_pair pair;
  auto pong =
      pair.caller().call<rpc::ping_response>("duplex.ping/ping", rpc::empty_message{}, within());
  BOOST_REQUIRE_MESSAGE(pong.ok(), pong.error().to_string());
  BOOST_TEST(pong->peer_id == "server");
  BOOST_TEST(pong->session_id == pair.server.session_id());
  // And the other way round.
  auto back = pair.server_node->call<rpc::ping_response>("duplex.ping/ping", rpc::empty_message{},
                                                         within());
  BOOST_REQUIRE_MESSAGE(back.ok(), back.error().to_string());
  BOOST_TEST(back->peer_id == "client");
}

BOOST_AUTO_TEST_CASE(builtins_switched_off_are_unimplemented) {
  rpc::node_options server_options;
  server_options.reflection = false;
  rpc_pair pair(server_options);
  pair.serve(calc_service());
  auto list =
      pair.caller().call<rpc::service_list>("duplex.reflect/list", rpc::empty_message{}, within());
  BOOST_TEST(list.code() == errc::unimplemented);
  auto describe = pair.caller().call<rpc::service_description>(
      "duplex.reflect/describe", rpc::describe_request{"calc"}, within());
  BOOST_TEST(describe.code() == errc::unimplemented);
  // The others still answer.
  auto health = pair.caller().call<rpc::health_response>("duplex.health/check",
                                                         rpc::health_request{"calc"}, within());
  BOOST_REQUIRE_MESSAGE(health.ok(), health.error().to_string());
  auto pong =
      pair.caller().call<rpc::ping_response>("duplex.ping/ping", rpc::empty_message{}, within());
  BOOST_REQUIRE_MESSAGE(pong.ok(), pong.error().to_string());

  rpc::node_options none;
  none.reflection = false;
  none.health = false;
  none.ping = false;
  rpc_pair bare(none);
  BOOST_TEST(bare.caller()
                 .call<rpc::health_response>("duplex.health/check", rpc::health_request{}, within())
                 .code() == errc::unimplemented);
  BOOST_TEST(bare.caller()
                 .call<rpc::ping_response>("duplex.ping/ping", rpc::empty_message{}, within())
                 .code() == errc::unimplemented);
}

BOOST_AUTO_TEST_SUITE_END()
