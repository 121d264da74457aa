// Choosing the callee: an explicit peer id, or the round robin across every connected peer.
#include <boost/test/unit_test.hpp>

#include "rpc/rpc_support.hpp"

using namespace duplex;
using namespace duplex::testing;

namespace {

struct served_reply {
  std::string by;
  MSGPACK_DEFINE_MAP(by)
};

rpc::service who_service(std::string id, std::atomic<int>& served) {
  rpc::service s("who");
  s.unary<rpc::empty_message, served_reply>(
      {"ami"},
      [id, &served](const rpc::empty_message&, rpc::call_context&) -> result<served_reply> {
        ++served;
        return served_reply{id};
      });
  return s;
}

// One client connected to two servers, s1 and s2, each serving who/ami.
struct trio {
  trio() : s1(rt, with_id("s1")), s2(rt, with_id("s2")), client(rt, with_id("client")) {
    BOOST_REQUIRE(s1_services.add(who_service("s1", s1_served)).ok());
    BOOST_REQUIRE(s2_services.add(who_service("s2", s2_served)).ok());
    s1_node.emplace(s1, s1_services);
    s2_node.emplace(s2, s2_services);
    client_node.emplace(client, client_services);
    for (auto* server : {&s1, &s2}) {
      auto endpoint = server->bind("tcp://127.0.0.1:0");
      BOOST_REQUIRE(endpoint.ok());
      BOOST_REQUIRE(client.connect(*endpoint).ok());
    }
    BOOST_REQUIRE(eventually([&] { return client.peers().size() == 2; }));
  }
  ~trio() {
    client_node.reset();
    s2_node.reset();
    s1_node.reset();
  }

  runtime rt;
  peer s1;
  peer s2;
  peer client;
  std::atomic<int> s1_served{0};
  std::atomic<int> s2_served{0};
  rpc::service_registry s1_services;
  rpc::service_registry s2_services;
  rpc::service_registry client_services;
  std::optional<rpc::node> s1_node;
  std::optional<rpc::node> s2_node;
  std::optional<rpc::node> client_node;
};

rpc::call_options to_peer(std::string id) {
  rpc::call_options o;
  o.timeout = wait_limit;
  o.peer = std::move(id);
  return o;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(routing)

BOOST_AUTO_TEST_CASE(calls_without_a_peer_alternate_between_the_servers) {
  trio t;
  std::map<std::string, int> by;
  for (int i = 0; i < 10; ++i) {
    auto r = t.client_node->call<served_reply>("who/ami", rpc::empty_message{}, to_peer(""));
    BOOST_REQUIRE_MESSAGE(r.ok(), r.error().to_string());
    ++by[r->by];
  }
  BOOST_TEST(by["s1"] == 5);
  BOOST_TEST(by["s2"] == 5);
  BOOST_TEST(t.s1_served.load() == 5);
  BOOST_TEST(t.s2_served.load() == 5);
}

BOOST_AUTO_TEST_CASE(calls_to_an_explicit_peer_all_go_to_that_peer) {
  trio t;
  for (int i = 0; i < 10; ++i) {
    auto r = t.client_node->call<served_reply>("who/ami", rpc::empty_message{}, to_peer("s2"));
    BOOST_REQUIRE_MESSAGE(r.ok(), r.error().to_string());
    BOOST_TEST(r->by == "s2");
  }
  BOOST_TEST(t.s1_served.load() == 0);
  BOOST_TEST(t.s2_served.load() == 10);
  auto first = t.client_node->call<served_reply>("who/ami", rpc::empty_message{}, to_peer("s1"));
  BOOST_REQUIRE_MESSAGE(first.ok(), first.error().to_string());
  BOOST_TEST(first->by == "s1");
  BOOST_TEST(t.s1_served.load() == 1);
}

BOOST_AUTO_TEST_CASE(a_call_to_a_peer_that_is_not_connected_is_unavailable) {
  trio t;
  auto r = t.client_node->call<served_reply>("who/ami", rpc::empty_message{}, to_peer("nobody"));
  BOOST_TEST(r.code() == errc::unavailable);
  BOOST_TEST(t.s1_served.load() + t.s2_served.load() == 0);
}

BOOST_AUTO_TEST_SUITE_END()
