// Everything is queued: channels and messages written before any remote peer exists go out,
// in order, once one is ready.
#include <boost/test/unit_test.hpp>

#include "support.hpp"

using namespace duplex;
using namespace duplex::testing;

namespace {

constexpr int message_count = 1000;

// Collects what the server's `collect` handler reads, for the test thread to check.
struct collected {
  std::mutex mutex;
  std::condition_variable done_cv;
  std::vector<std::string> messages;
  std::optional<read_result> last;
  metadata trailers;
  bool done = false;

  channel_handler handler() {
    return [this](channel ch) {
      std::vector<std::string> got;
      read_result r = ch.read(wait_limit);
      while (r.is_message()) {
        got.push_back(to_string(*r));
        r = ch.read(wait_limit);
      }
      std::lock_guard<std::mutex> lock(mutex);
      messages = std::move(got);
      trailers = ch.meta().trailers;
      last = std::move(r);
      done = true;
      done_cv.notify_all();
    };
  }

  bool wait() {
    std::unique_lock<std::mutex> lock(mutex);
    return done_cv.wait_for(lock, 2 * wait_limit, [this] { return done; });
  }
};

void write_numbered(channel& ch) {
  for (int i = 0; i < message_count; ++i)
    BOOST_REQUIRE(ch.write(to_bytes("m" + std::to_string(i)), wait_limit));
  BOOST_REQUIRE(ch.write_trailers({{"count", std::to_string(message_count)}}));
  BOOST_REQUIRE(ch.close_write());
}

void check_numbered(collected& c) {
  BOOST_REQUIRE(c.wait());
  BOOST_REQUIRE(c.last.has_value());
  BOOST_TEST(c.last->is_end(), c.last->error().to_string());
  BOOST_REQUIRE_EQUAL(c.messages.size(), static_cast<std::size_t>(message_count));
  for (int i = 0; i < message_count; ++i) BOOST_TEST(c.messages[i] == "m" + std::to_string(i));
  BOOST_TEST(c.trailers["count"] == std::to_string(message_count));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(pending_queue)

BOOST_AUTO_TEST_CASE(queued_messages_arrive_in_order_when_server_binds_first) {
  for (const auto& endpoint : bind_endpoints("queue-bind-first")) {
    BOOST_TEST_CONTEXT(endpoint) {
      runtime rt;
      peer client{rt};
      auto ch = client.open("collect");
      write_numbered(ch);  // no server exists yet
      collected c;
      peer server{rt};
      server.handle("collect", c.handler());
      auto bound = server.bind(endpoint);
      BOOST_REQUIRE_MESSAGE(bound, bound.error().to_string());
      BOOST_REQUIRE(client.connect(*bound));
      check_numbered(c);
    }
  }
}

BOOST_AUTO_TEST_CASE(queued_messages_arrive_in_order_when_client_connects_first) {
  auto endpoints = bind_endpoints("queue-connect-first");
  runtime rt;
  // tcp needs a known port: find a free one and release it before the client dials it.
  {
    peer probe{rt};
    endpoints[0] = *probe.bind("tcp://127.0.0.1:0");
  }
  for (const auto& endpoint : endpoints) {
    BOOST_TEST_CONTEXT(endpoint) {
      peer client{rt};
      auto ch = client.open("collect");
      write_numbered(ch);
      BOOST_REQUIRE(client.connect(endpoint));
      collected c;
      peer server{rt};
      server.handle("collect", c.handler());
      // A released tcp port is free once libzmq's I/O thread has closed its listener.
      BOOST_REQUIRE(eventually([&] { return server.bind(endpoint).ok(); }));
      check_numbered(c);
    }
  }
}

BOOST_AUTO_TEST_CASE(full_pending_queue_pushes_back_on_the_writer) {
  runtime rt;
  peer_options options;
  options.pending_messages = 10;
  peer client{rt, options};
  auto ch = client.open("collect");
  for (int i = 0; i < 10; ++i) BOOST_REQUIRE(ch.try_write(to_bytes("x")));
  auto refused = ch.try_write(to_bytes("x"));
  BOOST_TEST(refused.code() == errc::resource_exhausted);
  auto timed = ch.write(to_bytes("x"), 50ms);
  BOOST_TEST(timed.code() == errc::deadline_exceeded);
  auto later = ch.write_async(to_bytes("late"));
  BOOST_TEST((later.wait_for(50ms) == std::future_status::timeout));

  // A server appears: the queue drains into its window and the waiting write completes.
  collected c;
  peer server{rt};
  server.handle("collect", c.handler());
  auto bound = server.bind("tcp://127.0.0.1:0");
  BOOST_REQUIRE(client.connect(*bound));
  BOOST_REQUIRE((later.wait_for(wait_limit) == std::future_status::ready));
  BOOST_TEST(later.get().ok());
  BOOST_REQUIRE(ch.close_write());
  BOOST_REQUIRE(c.wait());
  BOOST_TEST(c.messages.size() == 11u);  // the refused and timed-out writes were not sent
  BOOST_TEST(c.messages.back() == "late");
}

BOOST_AUTO_TEST_CASE(too_many_pending_opens_fail_with_resource_exhausted) {
  runtime rt;
  peer_options options;
  options.max_pending_opens = 2;
  peer client{rt, options};
  auto a = client.open("x");
  auto b = client.open("x");
  auto c = client.open("x");
  auto r = c.read(wait_limit);
  BOOST_REQUIRE(r.is_error());
  BOOST_TEST(r.error().code == errc::resource_exhausted);
  BOOST_TEST(a.try_read().has_value() == false);  // still waiting, not failed
}

BOOST_AUTO_TEST_CASE(pending_open_bound_does_not_refuse_bursts_while_a_peer_is_connected) {
  runtime rt;
  peer_options options;
  options.max_pending_opens = 2;
  peer server{rt};
  server.handle("hi", [](channel ch) {
    ch.write(to_bytes("hi"));
    ch.close_write();
  });
  peer client{rt, options};
  event_log events{client};
  BOOST_REQUIRE(client.connect(*server.bind("tcp://127.0.0.1:0")));
  BOOST_REQUIRE(events.wait_for(peer_event::kind::connected));
  std::vector<channel> burst;
  for (int i = 0; i < 500; ++i) burst.push_back(client.open("hi"));
  for (auto& ch : burst) {
    auto r = ch.read(wait_limit);
    BOOST_REQUIRE_MESSAGE(r.is_message(), r.error().to_string());
  }
}

BOOST_AUTO_TEST_SUITE_END()
