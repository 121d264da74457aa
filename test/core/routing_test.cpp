// Which peer a channel goes to, and who is connected: round robin, explicit peers, unknown
// services, accept(), peers(), drop(), duplicate ids.
#include <boost/test/unit_test.hpp>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <sstream>
#include <thread>

#include "support.hpp"

using namespace duplex;
using namespace duplex::testing;

namespace {

channel_handler answer_with_id(const std::string& id) {
  return [id](channel ch) {
    ch.write(to_bytes(id));
    ch.close_write();
  };
}

}  // namespace

BOOST_AUTO_TEST_SUITE(routing)

BOOST_AUTO_TEST_CASE(round_robin_spreads_channels_evenly_over_three_servers) {
  runtime rt;
  std::vector<std::unique_ptr<peer>> servers;
  peer client{rt};
  event_log events{client};
  for (int i = 0; i < 3; ++i) {
    peer_options options;
    options.peer_id = "server-" + std::to_string(i);
    servers.push_back(std::make_unique<peer>(rt, options));
    servers.back()->handle("who", answer_with_id(options.peer_id));
    BOOST_REQUIRE(client.connect(*servers.back()->bind("tcp://127.0.0.1:0")));
  }
  BOOST_REQUIRE(events.wait_for(peer_event::kind::connected, 3));
  BOOST_TEST(client.peers().size() == 3u);

  std::map<std::string, int> counts;
  std::vector<channel> channels;
  for (int i = 0; i < 3000; ++i) channels.push_back(client.open("who"));
  for (auto& ch : channels) {
    auto r = ch.read(wait_limit);
    BOOST_REQUIRE_MESSAGE(r.is_message(), r.error().to_string());
    ++counts[to_string(*r)];
  }
  BOOST_TEST(counts.size() == 3u);
  for (auto& [id, n] : counts) {
    BOOST_TEST_CONTEXT(id) {
      BOOST_TEST(n >= 950);
      BOOST_TEST(n <= 1050);
    }
  }
}

// Threads that open channels send them themselves: the ids they take must still leave the
// connection in increasing order (the server refuses an OPEN that is not above the last one).
BOOST_AUTO_TEST_CASE(channels_opened_on_many_threads_at_once_all_reach_their_handler) {
  runtime rt;
  peer server{rt};
  server.handle("echo", echo_handler());
  peer client{rt};
  event_log events{client};
  BOOST_REQUIRE(client.connect(*server.bind("tcp://127.0.0.1:0")));
  BOOST_REQUIRE(events.wait_for(peer_event::kind::connected));
  constexpr int threads = 4;
  constexpr int per_thread = 250;
  std::atomic<int> answered{0};
  std::vector<std::string> failures(threads);
  std::vector<std::thread> openers;
  for (int t = 0; t < threads; ++t)
    openers.emplace_back([&, t] {
      std::vector<channel> mine;
      for (int i = 0; i < per_thread; ++i) {
        mine.push_back(client.open("echo"));
        (void)mine.back().write(to_bytes(std::to_string(t) + "/" + std::to_string(i)));
        (void)mine.back().close_write();  // the handler's thread is free once it answered
      }
      for (int i = 0; i < per_thread; ++i) {
        auto r = mine[i].read(wait_limit);
        if (!r.is_message()) {
          failures[t] = r.error().to_string();
          return;
        }
        if (to_string(*r) == std::to_string(t) + "/" + std::to_string(i)) ++answered;
      }
    });
  for (auto& o : openers) o.join();
  for (auto& f : failures) BOOST_TEST(f.empty(), f);
  BOOST_TEST(answered.load() == threads * per_thread);
}

BOOST_AUTO_TEST_CASE(explicit_open_reaches_that_peer_and_unknown_peer_is_unavailable) {
  runtime rt;
  peer a{rt, with_id("a")};
  peer b{rt, with_id("b")};
  a.handle("who", answer_with_id("a"));
  b.handle("who", answer_with_id("b"));
  peer client{rt};
  event_log events{client};
  BOOST_REQUIRE(client.connect(*a.bind("tcp://127.0.0.1:0")));
  BOOST_REQUIRE(client.connect(*b.bind("tcp://127.0.0.1:0")));
  BOOST_REQUIRE(events.wait_for(peer_event::kind::connected, 2));
  for (int i = 0; i < 10; ++i) {
    auto ch = client.open_to("b", "who");
    auto r = ch.read(wait_limit);
    BOOST_REQUIRE(r.is_message());
    BOOST_TEST(to_string(*r) == "b");
  }
  auto nowhere = client.open_to("nobody", "who");
  auto r = nowhere.read(wait_limit);
  BOOST_TEST(r.error().code == errc::unavailable);
  BOOST_TEST(nowhere.write(to_bytes("x")).code() == errc::unavailable);
}

BOOST_AUTO_TEST_CASE(next_peer_rotates_over_connected_peers) {
  runtime rt;
  peer a{rt, with_id("a")};
  peer b{rt, with_id("b")};
  peer client{rt};
  BOOST_TEST(client.next_peer().empty());
  event_log events{client};
  BOOST_REQUIRE(client.connect(*a.bind("tcp://127.0.0.1:0")));
  BOOST_REQUIRE(client.connect(*b.bind("tcp://127.0.0.1:0")));
  BOOST_REQUIRE(events.wait_for(peer_event::kind::connected, 2));
  std::set<std::string> seen{client.next_peer(), client.next_peer()};
  BOOST_TEST((seen == std::set<std::string>{"a", "b"}));
}

BOOST_AUTO_TEST_CASE(unknown_service_gets_unimplemented_and_the_peer_stays_healthy) {
  runtime rt;
  peer server{rt};
  server.handle("known", answer_with_id("server"));
  peer client{rt};
  BOOST_REQUIRE(client.connect(*server.bind("tcp://127.0.0.1:0")));
  auto ch = client.open("unknown");
  auto start = std::chrono::steady_clock::now();
  auto r = ch.read(wait_limit);
  BOOST_TEST(r.error().code == errc::unimplemented);
  BOOST_TEST(r.error().message.find("unknown") != std::string::npos);
  BOOST_TEST((std::chrono::steady_clock::now() - start < wait_limit));
  auto ok = client.open("known");
  BOOST_TEST(ok.read(wait_limit).is_message());
}

BOOST_AUTO_TEST_CASE(accept_takes_channels_without_a_handler) {
  runtime rt;
  peer_options options;
  options.accept_unhandled = true;
  peer server{rt, options};
  peer client{rt};
  BOOST_REQUIRE(client.connect(*server.bind("tcp://127.0.0.1:0")));
  auto ch = client.open("anything", {{"k", "v"}});
  BOOST_REQUIRE(ch.write(to_bytes("ping")));
  auto accepted = server.accept(wait_limit);
  BOOST_REQUIRE_MESSAGE(accepted, accepted.error().to_string());
  BOOST_TEST(accepted->meta().service == "anything");
  BOOST_TEST(accepted->meta().headers["k"] == "v");
  BOOST_TEST(accepted->meta().remote_peer_id == client.id());
  BOOST_TEST(to_string(*accepted->read(wait_limit)) == "ping");
  BOOST_TEST(server.accept(10ms).code() == errc::deadline_exceeded);

  std::promise<std::string> async_service;
  server.accept_async([&](result<channel> ch) {
    async_service.set_value(ch ? ch->meta().service : ch.error().to_string());
  });
  auto second = client.open("second");
  auto accepted_async = async_service.get_future();
  BOOST_REQUIRE((accepted_async.wait_for(wait_limit) == std::future_status::ready));
  BOOST_TEST(accepted_async.get() == "second");

  peer plain{rt};
  BOOST_TEST(plain.accept(10ms).code() == errc::failed_precondition);
}

BOOST_AUTO_TEST_CASE(peers_connected_both_ways_are_listed_once) {
  runtime rt;
  peer a{rt, with_id("a")};
  peer b{rt, with_id("b")};
  event_log a_events{a};
  event_log b_events{b};
  auto a_endpoint = *a.bind("tcp://127.0.0.1:0");
  auto b_endpoint = *b.bind("tcp://127.0.0.1:0");
  BOOST_REQUIRE(a.connect(b_endpoint));
  BOOST_REQUIRE(b.connect(a_endpoint));
  BOOST_REQUIRE(a_events.wait_for(peer_event::kind::connected));
  BOOST_REQUIRE(b_events.wait_for(peer_event::kind::connected));
  BOOST_TEST((a.peers() == std::vector<std::string>{"b"}));
  BOOST_TEST((b.peers() == std::vector<std::string>{"a"}));
  b.handle("who", answer_with_id("b"));
  auto ch = a.open("who");
  BOOST_TEST(to_string(*ch.read(wait_limit)) == "b");
}

BOOST_AUTO_TEST_CASE(second_peer_with_a_connected_id_gets_already_exists) {
  runtime rt;
  peer server{rt};
  auto endpoint = *server.bind("tcp://127.0.0.1:0");
  event_log server_events{server};
  peer first{rt, with_id("twin")};
  BOOST_REQUIRE(first.connect(endpoint));
  BOOST_REQUIRE(server_events.wait_for(peer_event::kind::connected));

  peer second{rt, with_id("twin")};
  event_log second_events{second};
  BOOST_REQUIRE(second.connect(endpoint));
  auto rejected = second_events.wait_for(peer_event::kind::rejected);
  BOOST_REQUIRE(rejected);
  BOOST_TEST(rejected->reason.code == errc::already_exists);
  auto server_side = server_events.wait_for(peer_event::kind::rejected);
  BOOST_REQUIRE(server_side);
  BOOST_TEST(server_side->reason.code == errc::already_exists);
  // The first is unaffected.
  server.handle("who", answer_with_id("server"));
  auto ch = first.open("who");
  BOOST_TEST(ch.read(wait_limit).is_message());
  BOOST_TEST((server.peers() == std::vector<std::string>{"twin"}));
}

BOOST_AUTO_TEST_CASE(drop_sends_bye_and_fails_that_peers_channels) {
  runtime rt;
  peer server{rt, with_id("server")};
  std::promise<void> opened;
  server.handle("hold", [&opened](channel ch) {
    opened.set_value();
    ch.read(wait_limit);
  });
  peer client{rt};
  event_log client_events{client};
  BOOST_REQUIRE(client.connect(*server.bind("tcp://127.0.0.1:0")));
  auto ch = client.open("hold");
  BOOST_REQUIRE((opened.get_future().wait_for(wait_limit) == std::future_status::ready));
  BOOST_REQUIRE(server.drop(client.id()));
  auto r = ch.read(wait_limit);
  BOOST_TEST(r.error().code == errc::unavailable);
  auto bye = client_events.wait_for(peer_event::kind::rejected);
  BOOST_REQUIRE(bye);
  BOOST_TEST(bye->reason.code == errc::cancelled);
  BOOST_TEST(server.peers().empty());
  BOOST_TEST(server.drop("nobody").code() == errc::not_found);
}

BOOST_AUTO_TEST_CASE(connection_events_go_to_the_injected_logger) {
  std::ostringstream lines;
  runtime_options options;
  options.log.logger = std::make_shared<spdlog::logger>(
      "test", std::make_shared<spdlog::sinks::ostream_sink_mt>(lines));
  runtime rt{options};
  peer server{rt, with_id("server")};
  event_log events{server};
  peer client{rt, with_id("client")};
  BOOST_REQUIRE(client.connect(*server.bind("tcp://127.0.0.1:0")));
  BOOST_REQUIRE(events.wait_for(peer_event::kind::connected));
  options.log.logger->flush();
  BOOST_TEST(lines.str().find("server: connected to client") != std::string::npos, lines.str());
}

BOOST_AUTO_TEST_CASE(the_default_handler_gets_services_without_their_own_until_removed) {
  runtime rt;
  peer server{rt, with_id("server")};
  peer client{rt, with_id("client")};
  auto endpoint = server.bind("tcp://127.0.0.1:0");
  BOOST_REQUIRE(endpoint.ok());
  server.handle("exact", [](channel ch) {
    ch.write(to_bytes("exact"));
    ch.close_write();
  });
  server.handle_default([](channel ch) {
    ch.write(to_bytes("default:" + ch.meta().service));
    ch.close_write();
  });
  BOOST_REQUIRE(client.connect(*endpoint));
  auto answer = [&](const std::string& service) {
    auto ch = client.open(service);
    ch.close_write();
    auto r = ch.read(wait_limit);
    return r.is_message() ? to_string(*r) : r.error().to_string();
  };
  BOOST_TEST(answer("exact") == "exact");
  BOOST_TEST(answer("anything/else") == "default:anything/else");
  server.handle_default(nullptr);
  auto gone = client.open("anything/else");
  BOOST_TEST(gone.read(wait_limit).error().code == errc::unimplemented);
}

BOOST_AUTO_TEST_CASE(handlers_that_wait_on_each_other_get_more_threads_than_the_minimum) {
  runtime rt;
  peer_options options = with_id("server");
  options.handler_threads = 1;
  options.max_handler_threads = 4;
  peer server{rt, options};
  peer client{rt, with_id("client")};
  auto endpoint = server.bind("tcp://127.0.0.1:0");
  BOOST_REQUIRE(endpoint.ok());
  // "outer" holds its thread until "inner" has run: one thread alone would deadlock.
  std::promise<void> inner_ran;
  auto inner_future = inner_ran.get_future().share();
  server.handle("outer", [inner_future](channel ch) {
    bool ran = inner_future.wait_for(wait_limit) == std::future_status::ready;
    ch.write(to_bytes(ran ? "inner ran" : "inner never ran"));
    ch.close_write();
  });
  server.handle("inner", [&inner_ran](channel ch) {
    inner_ran.set_value();
    ch.close_write();
  });
  BOOST_REQUIRE(client.connect(*endpoint));
  auto outer = client.open("outer");
  outer.close_write();
  BOOST_REQUIRE(eventually([&] { return server.channel_count() == 1; }));
  auto inner = client.open("inner");
  inner.close_write();
  auto r = outer.read(2 * wait_limit);
  BOOST_REQUIRE(r.is_message());
  BOOST_TEST(to_string(*r) == "inner ran");
}

BOOST_AUTO_TEST_SUITE_END()
