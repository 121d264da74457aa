#include <boost/test/unit_test.hpp>

#include "support.hpp"

using namespace duplex;
using namespace duplex::testing;

BOOST_AUTO_TEST_SUITE(basic)

BOOST_AUTO_TEST_CASE(echo_round_trip_over_every_transport) {
  for (const auto& endpoint : bind_endpoints("echo")) {
    BOOST_TEST_CONTEXT(endpoint) {
      runtime rt;
      peer server{rt};
      auto bound = server.bind(endpoint);
      BOOST_REQUIRE_MESSAGE(bound, bound.error().to_string());
      server.handle("echo", [](channel ch) {
        while (auto msg = ch.read()) ch.write(*msg);
        ch.close_write();
      });
      peer client{rt};
      auto ch = client.open("echo", {{"k", "v"}});
      BOOST_REQUIRE(client.connect(*bound));
      BOOST_REQUIRE(ch.write(to_bytes("hello")));
      auto reply = ch.read(wait_limit);
      BOOST_REQUIRE_MESSAGE(reply.is_message(), reply.error().to_string());
      BOOST_TEST(to_string(*reply) == "hello");
      BOOST_REQUIRE(ch.close_write());
      auto end = ch.read(wait_limit);
      BOOST_TEST(end.is_end(), end.error().to_string());
      BOOST_TEST(ch.meta().remote_peer_id == server.id());
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
