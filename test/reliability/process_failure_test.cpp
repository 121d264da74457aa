// Reference section B with real processes: a peer killed (B1), hung (B2), restarted (B3) and
// stopped in order (B8) while channels stream to it. The client is a peer in this process;
// every server is a duplex-testpeer process, reaped whatever the outcome.
#include <boost/test/unit_test.hpp>

#include <duplex/rpc.hpp>

#include <signal.h>

#include <future>
#include <memory>

#include "harness/testpeer_process.hpp"
#include "harness/testpeer_protocol.hpp"
#include "reliability/reliability_support.hpp"

using namespace duplex;
using namespace duplex::testing;

namespace {

using kind = peer_event::kind;

// Pass criterion of B1 (a killed peer): its channels fail within heartbeat timeout + 1 s.
// SIGKILL closes the TCP connection at once, so this is a generous bound.
constexpr auto kill_detection_limit = heartbeat_timeout + 1s;
// Starting, connecting, finishing: events that take milliseconds, bounded generously.
constexpr auto event_limit = 5s;
// Messages a stream must get through to count as "streaming" (about 0.2 s of work each).
constexpr std::uint64_t some_messages = 100;

std::vector<std::string> server_args(const std::string& id) {
  return {"--bind", "tcp://127.0.0.1:0", "--id", id};
}

void connect_and_wait(peer& client, timed_events& events, const testpeer_process& server,
                      std::size_t nth = 1) {
  BOOST_REQUIRE(client.connect(server.endpoint()));
  BOOST_REQUIRE_MESSAGE(events.wait_for(kind::connected, server.peer_id(), event_limit, nth),
                        "no HELLO from " << server.peer_id() << ": " << events.describe());
}

std::vector<std::unique_ptr<stream_worker>> start_streams(peer& client, const std::string& remote) {
  std::vector<std::unique_ptr<stream_worker>> workers;
  for (auto k : {stream_kind::echo, stream_kind::echo, stream_kind::source, stream_kind::sink})
    workers.push_back(std::make_unique<stream_worker>(client, remote, k));
  return workers;
}

void require_streaming(std::vector<std::unique_ptr<stream_worker>>& workers) {
  // Not inside the assertion: Boost.Test evaluates a message's operands even on success.
  for (auto& w : workers)
    if (!w->wait_progress(w->progress() + some_messages, event_limit))
      BOOST_FAIL(w->name() << " is not streaming: " << w->finish());
}

// Every worker's channel fails with unavailable within `limit` of `since`; its reader gets
// what had arrived, in order, then unavailable too.
void check_all_fail(std::vector<std::unique_ptr<stream_worker>>& workers, clock::time_point since,
                    std::chrono::milliseconds limit) {
  for (auto& w : workers) {
    // Waits beyond the limit, so that a late failure is reported with its time.
    auto failed = w->wait_channel_failed(limit + 5s);
    if (!failed) BOOST_FAIL(w->name() << " never failed: " << w->finish());
    auto after = ms_between(since, failed->at);
    BOOST_TEST_MESSAGE(w->name() << " failed after " << after << " ms: " << failed->reason);
    BOOST_TEST(failed->reason.code == errc::unavailable, w->name() << ": " << failed->reason);
    BOOST_TEST(after <= limit.count(), w->name() << " failed after " << after << " ms");
    auto seen = w->wait_stream_failed(event_limit);
    if (!seen) BOOST_FAIL(w->name() << " streams on after its channel failed: " << w->finish());
    BOOST_TEST(seen->reason.code == errc::unavailable, w->name() << ": " << seen->reason);
    BOOST_TEST(w->problem().empty(), w->problem());
  }
}

// Each echo channel opened now works and goes to `expected`.
void check_new_channels_go_to(peer& client, const std::string& expected, int channels) {
  for (int i = 0; i < channels; ++i) {
    auto ch = client.open(testpeer::echo_service);
    BOOST_REQUIRE(ch.write(to_bytes("after")));
    auto reply = ch.read(event_limit);
    BOOST_REQUIRE_MESSAGE(reply.is_message(), "channel " << i << ": " << reply.error());
    BOOST_TEST(ch.meta().remote_peer_id == expected);
    ch.close();
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(process_failures)

// B1 + the second half of A8: SIGKILL one of two servers while four channels stream to each.
BOOST_AUTO_TEST_CASE(B1_killed_peer_fails_its_channels_and_the_others_stream_on) {
  testpeer_process doomed(server_args("doomed"));
  testpeer_process survivor(server_args("survivor"));
  runtime rt;
  peer client{rt, reliability_options("client")};
  timed_events events{client};
  connect_and_wait(client, events, doomed);
  connect_and_wait(client, events, survivor);

  auto to_doomed = start_streams(client, "doomed");
  auto to_survivor = start_streams(client, "survivor");
  require_streaming(to_doomed);
  require_streaming(to_survivor);

  std::vector<std::uint64_t> before;
  for (auto& w : to_survivor) before.push_back(w->progress());
  auto killed_at = clock::now();
  BOOST_TEST(doomed.kill().signal == SIGKILL);

  check_all_fail(to_doomed, killed_at, kill_detection_limit);
  auto gone = events.wait_for(kind::disconnected, "doomed", event_limit);
  BOOST_REQUIRE_MESSAGE(gone, events.describe());
  BOOST_TEST(gone->event.reason.code == errc::unavailable, gone->event.reason);

  // The other peer's channels never noticed: each streams on, then ends with nothing lost.
  require_streaming(to_survivor);
  for (std::size_t i = 0; i < to_survivor.size(); ++i) {
    auto& w = *to_survivor[i];
    BOOST_TEST(w.progress() > before[i] + some_messages, w.name());
    auto problems = w.finish();
    BOOST_TEST(problems.empty(), problems);
    BOOST_TEST_MESSAGE(w.name() << ": " << w.progress() << " messages, none lost");
  }

  // A8, second half: new channels go only to the live peer.
  BOOST_TEST(client.peers() == std::vector<std::string>{"survivor"});
  check_new_channels_go_to(client, "survivor", 20);
}

// B2: SIGSTOP leaves the TCP connection open and silent; only heartbeats can tell.
BOOST_AUTO_TEST_CASE(B2_hung_peer_is_detected_by_heartbeats_and_rejoins_after_sigcont) {
  // Nothing arrives after the stop: the client's next PING goes out within one heartbeat
  // interval and the connection fails heartbeat_timeout after the last traffic. Measured
  // from the stop, detection takes up to interval + timeout (4 s here); one more second for
  // a loaded machine.
  constexpr auto hang_detection_limit = heartbeat_interval + heartbeat_timeout + 1s;
  testpeer_process hung(server_args("hung"));
  runtime rt;
  peer client{rt, reliability_options("client")};
  timed_events events{client};
  connect_and_wait(client, events, hung);
  auto workers = start_streams(client, "hung");
  require_streaming(workers);

  auto stopped_at = clock::now();
  hung.suspend();
  auto gone = events.wait_for(kind::disconnected, "hung", hang_detection_limit + 5s);
  BOOST_REQUIRE_MESSAGE(gone, "the hung peer was never detected: " << events.describe());
  BOOST_TEST_MESSAGE("hung peer detected after " << ms_between(stopped_at, gone->at)
                                                 << " ms: " << gone->event.reason);
  BOOST_TEST(ms_between(stopped_at, gone->at) <= hang_detection_limit.count());
  BOOST_TEST(gone->event.reason.code == errc::unavailable, gone->event.reason);
  check_all_fail(workers, stopped_at, hang_detection_limit);
  BOOST_TEST(client.peers().empty());

  // After SIGCONT the client's reconnection completes its handshake: a second HELLO.
  auto resumed_at = clock::now();
  hung.resume();
  // The reconnect attempts made during the hang wait in the stopped process's listen queue;
  // the latest completes once it runs again (the ZeroMQ handshake allows 5 s).
  auto back = events.wait_for(kind::connected, "hung", 10s, 2);
  BOOST_REQUIRE_MESSAGE(back, "the peer did not rejoin: " << events.describe());
  BOOST_TEST_MESSAGE("rejoined " << ms_between(resumed_at, back->at) << " ms after SIGCONT");
  BOOST_TEST(client.peers() == std::vector<std::string>{"hung"});
  check_new_channels_go_to(client, "hung", 5);
  auto fresh = start_streams(client, "hung");
  require_streaming(fresh);
  for (auto& w : fresh) {
    auto problems = w->finish();
    BOOST_TEST(problems.empty(), problems);
  }
}

// B3: a server killed and started again on the same tcp endpoint is a new peer session.
BOOST_AUTO_TEST_CASE(B3_restarted_server_is_a_new_session_and_old_channels_stay_failed) {
  testpeer_process server(server_args("server"));
  runtime rt;
  peer client{rt, reliability_options("client")};
  rpc::service_registry no_services;
  rpc::node client_rpc{client, no_services};
  timed_events events{client};
  connect_and_wait(client, events, server);
  auto old_workers = start_streams(client, "server");
  require_streaming(old_workers);
  auto first_session = server.session_id();
  auto first_endpoint = server.endpoint();

  auto killed_at = clock::now();
  server.kill();
  check_all_fail(old_workers, killed_at, kill_detection_limit);
  BOOST_REQUIRE(events.wait_for(kind::disconnected, "server", event_limit));

  server.restart();
  auto ready_at = clock::now();
  BOOST_TEST(server.endpoint() == first_endpoint);
  BOOST_TEST(server.session_id() != first_session);
  // The client retries at most every reconnect_interval_max (libzmq adds up to one
  // reconnect_interval of jitter); the HELLO exchange follows at once.
  constexpr auto reconnect_limit = reconnect_interval_max + 1s;
  auto back = events.wait_for(kind::connected, "server", reconnect_limit + 5s, 2);
  BOOST_REQUIRE_MESSAGE(back, "no reconnection: " << events.describe());
  BOOST_TEST_MESSAGE("reconnected " << ms_between(ready_at, back->at)
                                    << " ms after the new server was ready");
  BOOST_TEST(ms_between(ready_at, back->at) <= reconnect_limit.count());
  BOOST_TEST(client.peers() == std::vector<std::string>{"server"});

  check_new_channels_go_to(client, "server", 5);
  rpc::call_options options;
  options.timeout = event_limit;
  auto echoed = client_rpc.call<testpeer::echo_message>(
      testpeer::rpc_echo, testpeer::echo_message{"after the restart", to_bytes("\x01\x02")},
      options);
  BOOST_REQUIRE_MESSAGE(echoed, echoed.error());
  BOOST_TEST(echoed->text == "after the restart");
  BOOST_TEST((echoed->data == to_bytes("\x01\x02")));

  // Never silently resumed: the old channels stay failed.
  for (auto& w : old_workers) {
    auto failed = w->wait_stream_failed(0ms);
    BOOST_TEST_REQUIRE(failed.has_value());
    BOOST_TEST(failed->reason.code == errc::unavailable);
  }
}

// B8: SIGTERM with channels open and a call in flight: the remote sees unavailable on what
// was open and a clean end on what was already closed; the process exits 0 within 5 s.
BOOST_AUTO_TEST_CASE(B8_sigterm_ends_open_channels_with_unavailable_and_exits_promptly) {
  constexpr auto exit_limit = 5s;
  testpeer_process server(server_args("server"));
  runtime rt;
  peer client{rt, reliability_options("client")};
  rpc::service_registry no_services;
  rpc::node client_rpc{client, no_services};
  timed_events events{client};
  connect_and_wait(client, events, server);

  auto closed = client.open(testpeer::echo_service);
  BOOST_REQUIRE(closed.write(to_bytes("one")));
  BOOST_REQUIRE(closed.read(event_limit).is_message());
  BOOST_REQUIRE(closed.close_write());
  BOOST_REQUIRE(closed.read(event_limit).is_end());
  std::promise<error> closed_finish;
  closed.on_finish([&](const error& e) { closed_finish.set_value(e); });

  auto workers = start_streams(client, "server");
  require_streaming(workers);
  rpc::call_options options;
  options.timeout = 60s;  // far beyond the test: only the shutdown can end this call
  auto sleeping = client_rpc.call_async<testpeer::sleep_reply>(
      testpeer::rpc_sleep, testpeer::sleep_request{60'000}, options);

  auto signalled_at = clock::now();
  auto status = server.terminate(exit_limit + 5s);
  auto exited_at = clock::now();
  BOOST_TEST(status.ok(), status.describe());
  BOOST_TEST(ms_between(signalled_at, exited_at) < std::chrono::milliseconds{exit_limit}.count(),
             "exit took " << ms_between(signalled_at, exited_at) << " ms");
  BOOST_TEST_MESSAGE("the testpeer exited " << ms_between(signalled_at, exited_at)
                                            << " ms after SIGTERM");
  BOOST_TEST(server.expect_line("STOPPED", event_limit).has_value());

  check_all_fail(workers, signalled_at, exit_limit);
  BOOST_REQUIRE((sleeping.wait_for(event_limit) == std::future_status::ready));
  auto slept = sleeping.get();
  BOOST_TEST(slept.code() == errc::unavailable, slept.error());
  auto finished = closed_finish.get_future();
  BOOST_REQUIRE((finished.wait_for(event_limit) == std::future_status::ready));
  BOOST_TEST(finished.get().ok());
  auto gone = events.wait_for(kind::disconnected, "server", event_limit);
  BOOST_REQUIRE_MESSAGE(gone, events.describe());
}

BOOST_AUTO_TEST_SUITE_END()
