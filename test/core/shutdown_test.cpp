// Disconnects, restarts and shutdown: open channels fail with unavailable, nothing is
// silently resumed, and tearing down never hangs.
#include <boost/test/unit_test.hpp>

#include "support.hpp"

using namespace duplex;
using namespace duplex::testing;

BOOST_AUTO_TEST_SUITE(teardown)

BOOST_AUTO_TEST_CASE(remote_shutdown_ends_unclosed_streams_with_unavailable_never_a_clean_end) {
  for (const auto& endpoint : bind_endpoints("shutdown")) {
    BOOST_TEST_CONTEXT(endpoint) {
      runtime rt;
      auto server = std::make_unique<peer>(rt);
      std::promise<void> streaming;
      server->handle("stream", [&streaming](channel ch) {
        ch.write(to_bytes("first"));
        streaming.set_value();
        ch.read(wait_limit);  // blocks until the peer shuts down
      });
      peer client{rt};
      BOOST_REQUIRE(client.connect(*server->bind(endpoint)));
      auto ch = client.open("stream");
      BOOST_REQUIRE(ch.read(wait_limit).is_message());
      BOOST_REQUIRE((streaming.get_future().wait_for(wait_limit) == std::future_status::ready));
      auto start = std::chrono::steady_clock::now();
      server->shutdown();
      BOOST_TEST((std::chrono::steady_clock::now() - start < wait_limit));
      auto r = ch.read(wait_limit);
      BOOST_TEST(r.error().code == errc::unavailable, r.error().to_string());
      BOOST_TEST(ch.write(to_bytes("x")).code() == errc::unavailable);
      server.reset();
    }
  }
}

BOOST_AUTO_TEST_CASE(restarted_remote_is_a_new_peer_and_old_channels_stay_failed) {
  runtime rt;
  peer_options options;
  options.peer_id = "server";
  options.reconnect_interval = 20ms;
  options.reconnect_interval_max = 100ms;
  auto first = std::make_unique<peer>(rt, options);
  first->handle("who", [](channel ch) {
    ch.write(to_bytes("first"));
    ch.read(wait_limit);
  });
  auto endpoint = *first->bind("tcp://127.0.0.1:0");
  auto first_session = first->session_id();

  peer_options client_options;
  client_options.reconnect_interval = 20ms;
  client_options.reconnect_interval_max = 100ms;
  peer client{rt, client_options};
  event_log events{client};
  BOOST_REQUIRE(client.connect(endpoint));
  auto old_channel = client.open("who");
  BOOST_TEST(to_string(*old_channel.read(wait_limit)) == "first");

  first.reset();  // shutdown: BYE to the client
  BOOST_TEST(old_channel.read(wait_limit).error().code == errc::unavailable);
  BOOST_REQUIRE(events.wait_for(peer_event::kind::disconnected));

  peer second{rt, options};
  BOOST_TEST(second.session_id() != first_session);
  second.handle("who", [](channel ch) {
    ch.write(to_bytes("second"));
    ch.read(wait_limit);
  });
  // The old listener closes on libzmq's I/O thread: the port is free soon after, not at once.
  BOOST_REQUIRE(eventually([&] { return second.bind(endpoint).ok(); }));
  auto fresh = client.open("who");
  auto r = fresh.read(2 * wait_limit);
  BOOST_REQUIRE_MESSAGE(r.is_message(), r.error().to_string());
  BOOST_TEST(to_string(*r) == "second");
  // The old channel is not resumed.
  BOOST_TEST(old_channel.read(10ms).error().code == errc::unavailable);
}

BOOST_AUTO_TEST_CASE(disconnect_fails_channels_of_that_connection) {
  runtime rt;
  peer server{rt};
  server.handle("hold", [](channel ch) {
    ch.write(to_bytes("held"));
    ch.read(wait_limit);
  });
  auto endpoint = *server.bind("tcp://127.0.0.1:0");
  peer client{rt};
  BOOST_REQUIRE(client.connect(endpoint));
  auto ch = client.open("hold");
  BOOST_REQUIRE(ch.read(wait_limit).is_message());
  BOOST_REQUIRE(client.disconnect(endpoint));
  BOOST_TEST(ch.read(wait_limit).error().code == errc::unavailable);
  BOOST_TEST(client.peers().empty());
}

BOOST_AUTO_TEST_CASE(shutdown_fails_pending_channels_and_blocked_calls) {
  runtime rt;
  peer_options options;
  options.accept_unhandled = true;
  auto lonely = std::make_unique<peer>(rt, options);
  auto pending = lonely->open("nowhere");
  BOOST_REQUIRE(pending.write(to_bytes("queued")));
  std::promise<errc> accept_result;
  std::thread acceptor([&] { accept_result.set_value(lonely->accept(wait_limit).code()); });
  std::this_thread::sleep_for(20ms);
  lonely->shutdown();
  acceptor.join();
  BOOST_TEST(accept_result.get_future().get() == errc::failed_precondition);
  BOOST_TEST(pending.read(wait_limit).error().code == errc::unavailable);
  BOOST_TEST(lonely->bind("tcp://127.0.0.1:0").code() == errc::failed_precondition);
}

BOOST_AUTO_TEST_CASE(destroying_everything_with_channels_open_does_not_hang) {
  auto start = std::chrono::steady_clock::now();
  std::vector<channel> leftovers;
  {
    runtime rt;
    peer server{rt};
    server.handle("echo", echo_handler());
    peer client{rt};
    BOOST_REQUIRE(client.connect(*server.bind("tcp://127.0.0.1:0")));
    for (int i = 0; i < 100; ++i) {
      leftovers.push_back(client.open("echo"));
      leftovers.back().write(to_bytes("x"));
    }
    BOOST_REQUIRE(leftovers.front().read(wait_limit).is_message());  // the pool has 4 threads
  }
  BOOST_TEST((std::chrono::steady_clock::now() - start < 2 * wait_limit));
  leftovers.clear();  // handles outliving their runtime are inert
}

BOOST_AUTO_TEST_SUITE_END()
