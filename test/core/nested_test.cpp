// Channels opened inside channels: they carry data both ways, never show up in peer.accept(),
// and close with their parent.
#include <boost/test/unit_test.hpp>

#include <future>

#include "support.hpp"

using namespace duplex;
using namespace duplex::testing;

BOOST_AUTO_TEST_SUITE(nested)

BOOST_AUTO_TEST_CASE(nested_channels_open_both_ways_and_carry_data) {
  for (const auto& endpoint : bind_endpoints("nested")) {
    BOOST_TEST_CONTEXT(endpoint) {
      runtime rt;
      peer_options server_options;
      server_options.accept_unhandled = true;  // nested channels must not land here
      peer server{rt, server_options};
      std::promise<std::string> server_nested_said;
      server.handle("parent", [&](channel ch) {
        // The client opens a nested channel; the server accepts it on the parent.
        auto inner = ch.accept(wait_limit);
        if (!inner)
          return server_nested_said.set_value("accept failed: " + inner.error().to_string());
        auto said = inner->read(wait_limit);
        inner->write(to_bytes("inner reply"));
        inner->close_write();
        // And opens one back towards the client.
        auto back = ch.open("callback", {{"from", "server"}});
        back.write(to_bytes("called back"));
        auto answer = back.read(wait_limit);
        server_nested_said.set_value(
            said ? to_string(*said) + "|" +
                       (answer ? to_string(*answer) : answer.error().to_string())
                 : said.error().to_string());
        ch.read(wait_limit);  // until the client ends
        ch.close_write();
      });
      peer client{rt};
      BOOST_REQUIRE(client.connect(*server.bind(endpoint)));
      auto parent = client.open("parent");
      auto inner = parent.open("inner");
      BOOST_REQUIRE(inner.write(to_bytes("inner hello")));
      auto reply = inner.read(wait_limit);
      BOOST_REQUIRE_MESSAGE(reply.is_message(), reply.error().to_string());
      BOOST_TEST(to_string(*reply) == "inner reply");

      auto callback = parent.accept(wait_limit);
      BOOST_REQUIRE_MESSAGE(callback, callback.error().to_string());
      BOOST_TEST(callback->meta().service == "callback");
      BOOST_TEST(callback->meta().headers["from"] == "server");
      BOOST_TEST(to_string(*callback->read(wait_limit)) == "called back");
      BOOST_REQUIRE(callback->write(to_bytes("answered")));

      auto said = server_nested_said.get_future();
      BOOST_REQUIRE((said.wait_for(wait_limit) == std::future_status::ready));
      BOOST_TEST(said.get() == "inner hello|answered");
      BOOST_TEST(server.accept(50ms).code() == errc::deadline_exceeded);
      BOOST_REQUIRE(parent.close_write());
      BOOST_TEST(parent.read(wait_limit).is_end());
    }
  }
}

BOOST_AUTO_TEST_CASE(nested_channels_close_with_their_parent) {
  runtime rt;
  peer server{rt};
  std::promise<errc> inner_saw;
  server.handle("parent", [&](channel ch) {
    auto inner = ch.accept(wait_limit);
    if (!inner) return inner_saw.set_value(inner.code());
    inner->read(wait_limit);              // "first"
    ch.close_write();                     // the server ends the parent...
    auto next = inner->read(wait_limit);  // ...and the nested channel goes with it
    inner_saw.set_value(next.is_error() ? next.error().code : errc::ok);
  });
  peer client{rt};
  BOOST_REQUIRE(client.connect(*server.bind("tcp://127.0.0.1:0")));
  auto parent = client.open("parent");
  auto inner = parent.open("inner");
  BOOST_REQUIRE(inner.write(to_bytes("first")));
  BOOST_TEST(parent.read(wait_limit).is_end());
  parent.close_write();  // both directions of the parent have ended: it is closed
  auto r = inner.read(wait_limit);
  BOOST_TEST(r.error().code == errc::cancelled);
  auto saw = inner_saw.get_future();
  BOOST_REQUIRE((saw.wait_for(wait_limit) == std::future_status::ready));
  BOOST_TEST(saw.get() == errc::cancelled);
}

// A channel opened inside one that has already finished must end, not wait forever: nothing may
// ever reach it, yet it learns that its parent is gone.
BOOST_AUTO_TEST_CASE(nested_channel_opened_in_a_finished_parent_ends_cancelled) {
  runtime rt;
  peer server{rt};
  server.handle("echo", echo_handler());
  peer client{rt};
  BOOST_REQUIRE(client.connect(*server.bind("tcp://127.0.0.1:0")));
  auto parent = client.open("echo");
  BOOST_REQUIRE(parent.close_write());
  BOOST_REQUIRE(parent.read(wait_limit).is_end());
  std::promise<void> finished;
  parent.on_finish([&](const error&) { finished.set_value(); });
  BOOST_REQUIRE((finished.get_future().wait_for(wait_limit) == std::future_status::ready));
  auto inner = parent.open("echo");
  auto r = inner.read(wait_limit);
  BOOST_REQUIRE(r.is_error());
  BOOST_TEST(r.error().code == errc::cancelled, r.error().to_string());
}

BOOST_AUTO_TEST_CASE(nested_channel_opened_before_the_parent_is_sent_waits_for_it) {
  runtime rt;
  peer server{rt};
  server.handle("parent", [](channel ch) {
    auto inner = ch.accept(wait_limit);
    if (!inner) return;
    while (auto msg = inner->read(wait_limit)) inner->write(*msg);
    inner->close_write();
    ch.read(wait_limit);
    ch.close_write();
  });
  peer client{rt};
  auto parent = client.open("parent");
  auto inner = parent.open("inner");  // neither is sent anywhere yet
  BOOST_REQUIRE(inner.write(to_bytes("queued")));
  BOOST_REQUIRE(client.connect(*server.bind("tcp://127.0.0.1:0")));
  auto r = inner.read(wait_limit);
  BOOST_REQUIRE_MESSAGE(r.is_message(), r.error().to_string());
  BOOST_TEST(to_string(*r) == "queued");
}

BOOST_AUTO_TEST_SUITE_END()
