// How a channel finishes once both streams have ended, whichever thread completes it: both
// sides report ok, later writes are refused, and watchers run where channel.hpp says.
#include <pthread.h>
#include <boost/test/unit_test.hpp>

#include "support.hpp"

using namespace duplex;
using namespace duplex::testing;

namespace {

struct finish_report {
  std::promise<error> reason;
  std::promise<error> write_after;
};

// Echoes one message, ends its side, then reports how the channel finished and what a write
// after that returns.
channel_handler echo_once_then_report(std::shared_ptr<finish_report> report) {
  return [report](channel ch) {
    auto msg = ch.read(wait_limit);
    if (msg.is_message()) ch.write(*msg);
    (void)ch.read(wait_limit);  // the opener's end
    ch.close_write();
    std::promise<error> finished;
    ch.on_finish([&finished](const error& reason) { finished.set_value(reason); });
    auto done = finished.get_future();
    if (done.wait_for(wait_limit) != std::future_status::ready) return;
    report->reason.set_value(done.get());
    report->write_after.set_value(ch.write(to_bytes("late")).error());
  };
}

void exchange_one(peer& client, const std::string& text) {
  auto ch = client.open("echo");
  BOOST_REQUIRE(ch.write(to_bytes(text)));
  BOOST_REQUIRE(ch.close_write());
  auto reply = ch.read(wait_limit);
  BOOST_REQUIRE_MESSAGE(reply.is_message(), reply.error().to_string());
  BOOST_TEST(to_string(*reply) == text);
  BOOST_REQUIRE(ch.read(wait_limit).is_end());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(finishing)

BOOST_AUTO_TEST_CASE(both_sides_of_a_completed_exchange_finish_ok_and_refuse_later_writes) {
  runtime rt;
  peer server{rt};
  auto report = std::make_shared<finish_report>();
  server.handle("echo", echo_once_then_report(report));
  peer client{rt};
  BOOST_REQUIRE(client.connect(*server.bind("tcp://127.0.0.1:0")));
  for (int round = 0; round < 2; ++round) {  // the second on a connection already in use
    if (round == 1) {
      report = std::make_shared<finish_report>();
      server.handle("echo", echo_once_then_report(report));
    }
    auto ch = client.open("echo");
    BOOST_REQUIRE(ch.write(to_bytes("hello")));
    BOOST_REQUIRE(ch.close_write());
    auto reply = ch.read(wait_limit);
    BOOST_REQUIRE_MESSAGE(reply.is_message(), reply.error().to_string());
    BOOST_TEST(to_string(*reply) == "hello");
    BOOST_REQUIRE(ch.read(wait_limit).is_end());
    std::promise<error> finished;
    ch.on_finish([&finished](const error& reason) { finished.set_value(reason); });
    auto done = finished.get_future();
    BOOST_REQUIRE((done.wait_for(wait_limit) == std::future_status::ready));
    BOOST_TEST(done.get().ok());
    BOOST_TEST(ch.write(to_bytes("late")).code() == errc::failed_precondition);

    auto server_reason = report->reason.get_future();
    BOOST_REQUIRE((server_reason.wait_for(wait_limit) == std::future_status::ready));
    BOOST_TEST(server_reason.get().ok());
    BOOST_TEST(report->write_after.get_future().get().code == errc::failed_precondition);
  }
}

BOOST_AUTO_TEST_CASE(a_finish_watcher_set_before_the_end_never_runs_on_the_writing_thread) {
  runtime rt;
  peer server{rt};
  std::promise<bool> ran_on_writer;
  server.handle("echo", [&ran_on_writer](channel ch) {
    while (auto msg = ch.read(wait_limit)) ch.write(*msg);
    const auto writer = std::this_thread::get_id();
    auto reported = std::make_shared<std::promise<std::thread::id>>();
    auto where = reported->get_future();
    ch.on_finish([reported](const error&) { reported->set_value(std::this_thread::get_id()); });
    ch.close_write();  // completes the channel: the opener's end is in
    if (where.wait_for(wait_limit) != std::future_status::ready) return;
    ran_on_writer.set_value(where.get() == writer);
  });
  peer client{rt};
  BOOST_REQUIRE(client.connect(*server.bind("tcp://127.0.0.1:0")));
  auto ch = client.open("echo");
  BOOST_REQUIRE(ch.write(to_bytes("x")));
  BOOST_REQUIRE(ch.close_write());
  // The client's watcher too: set before the reply's end arrives on the transport thread.
  auto reported = std::make_shared<std::promise<std::thread::id>>();
  auto where = reported->get_future();
  ch.on_finish([reported](const error&) { reported->set_value(std::this_thread::get_id()); });
  BOOST_REQUIRE(ch.read(wait_limit).is_message());
  BOOST_REQUIRE(ch.read(wait_limit).is_end());
  BOOST_REQUIRE((where.wait_for(wait_limit) == std::future_status::ready));
  BOOST_TEST((where.get() != std::this_thread::get_id()));
  auto verdict = ran_on_writer.get_future();
  BOOST_REQUIRE((verdict.wait_for(wait_limit) == std::future_status::ready));
  BOOST_TEST(!verdict.get());
}

BOOST_FIXTURE_TEST_CASE(a_reader_waiting_asynchronously_gets_the_reply_and_the_end, echo_peers) {
  for (int i = 0; i < 50; ++i) {
    auto ch = client.open("echo");
    auto first = ch.read_future();  // waiting before anything was sent
    BOOST_REQUIRE(ch.write(to_bytes("m" + std::to_string(i))));
    BOOST_REQUIRE(ch.close_write());
    BOOST_REQUIRE((first.wait_for(wait_limit) == std::future_status::ready));
    auto reply = first.get();
    BOOST_REQUIRE_MESSAGE(reply.is_message(), reply.error().to_string());
    BOOST_TEST(to_string(*reply) == "m" + std::to_string(i));
    auto end = ch.read_future();
    BOOST_REQUIRE((end.wait_for(wait_limit) == std::future_status::ready));
    BOOST_TEST(end.get().is_end());
  }
}

BOOST_FIXTURE_TEST_CASE(cancelling_a_finished_channel_leaves_it_finished_ok, echo_peers) {
  auto ch = client.open("echo");
  BOOST_REQUIRE(ch.close_write());
  BOOST_REQUIRE(ch.read(wait_limit).is_end());
  std::promise<error> before;
  ch.on_finish([&before](const error& reason) { before.set_value(reason); });
  auto finished = before.get_future();
  BOOST_REQUIRE((finished.wait_for(wait_limit) == std::future_status::ready));
  BOOST_TEST(finished.get().ok());
  ch.cancel();
  std::promise<error> after;
  ch.on_finish([&after](const error& reason) { after.set_value(reason); });
  BOOST_TEST(after.get_future().get().ok());
  // The connection is unharmed: the next channel works.
  auto next = client.open("echo");
  BOOST_REQUIRE(next.write(to_bytes("again")));
  BOOST_REQUIRE(next.close_write());
  auto reply = next.read(wait_limit);
  BOOST_REQUIRE_MESSAGE(reply.is_message(), reply.error().to_string());
  BOOST_TEST(to_string(*reply) == "again");
}

BOOST_FIXTURE_TEST_CASE(completed_exchanges_leave_the_actor_workers_asleep, echo_peers) {
  exchange_one(client, "warm-up");
  constexpr int exchanges = 200;
  const long before = context_switches_of("caf.multiplexer");  // CAF's workers
  for (int i = 0; i < exchanges; ++i) exchange_one(client, "m" + std::to_string(i));
  const long during = context_switches_of("caf.multiplexer") - before;
  // Each side's channel finishes on the thread that ends it: no actor runs. With the channel
  // actors finishing the channels, each exchange woke the workers several times.
  BOOST_TEST(during < exchanges, during << " worker switches for " << exchanges << " exchanges");
}

BOOST_FIXTURE_TEST_CASE(an_accept_async_callback_never_runs_on_the_io_thread_at_the_finish,
                        echo_peers) {
  for (int i = 0; i < 5; ++i) {
    auto ch = client.open("echo");
    auto ran_on = std::make_shared<std::promise<std::string>>();
    auto where = ran_on->get_future();
    ch.accept_async([ran_on](result<channel>) {
      char name[16] = {};
      ::pthread_getname_np(::pthread_self(), name, sizeof name);
      ran_on->set_value(name);
    });
    BOOST_REQUIRE(ch.write(to_bytes("x")));
    BOOST_REQUIRE(ch.close_write());
    BOOST_REQUIRE(ch.read(wait_limit).is_message());
    BOOST_REQUIRE(ch.read(wait_limit).is_end());
    BOOST_REQUIRE((where.wait_for(wait_limit) == std::future_status::ready));
    BOOST_TEST(where.get() != "duplex-io");
  }
}

BOOST_AUTO_TEST_CASE(a_finished_channel_handle_may_outlive_its_runtime) {
  std::vector<channel> kept;
  {
    echo_peers peers;
    auto& client = peers.client;
    for (int i = 0; i < 20; ++i) {
      kept.push_back(client.open("echo"));
      auto& ch = kept.back();
      BOOST_REQUIRE(ch.write(to_bytes("x")));
      BOOST_REQUIRE(ch.close_write());
      BOOST_REQUIRE(ch.read(wait_limit).is_message());
      BOOST_REQUIRE(ch.read(wait_limit).is_end());
    }
  }
  for (auto& ch : kept) BOOST_TEST(!ch.write(to_bytes("late")));
  kept.clear();  // inert, and gone without touching the destroyed actor system
}

BOOST_FIXTURE_TEST_CASE(a_read_callback_that_throws_fails_the_channel_at_both_ends_only,
                        echo_peers) {
  std::promise<void> callback_set;
  std::promise<errc> server_saw;
  server.handle("hold", [&](channel ch) {
    if (callback_set.get_future().wait_for(wait_limit) != std::future_status::ready) return;
    ch.write(to_bytes("first"));
    server_saw.set_value(ch.read(wait_limit).error().code);
  });
  auto ch = client.open("hold");
  // Runs on the channel's actor, which the exception stops.
  ch.read_async([](read_result) { throw std::runtime_error("the callback failed"); });
  callback_set.set_value();
  auto at_server = server_saw.get_future();
  BOOST_REQUIRE((at_server.wait_for(wait_limit) == std::future_status::ready));
  BOOST_TEST(at_server.get() == errc::cancelled);
  auto later = ch.read(wait_limit);
  BOOST_REQUIRE(later.is_error());
  BOOST_TEST(later.error().code == errc::unavailable, later.error().to_string());
  BOOST_TEST(ch.write(to_bytes("x")).code() == errc::unavailable);
  // The connection and its credit are unharmed.
  exchange_one(client, "still fine");
}

BOOST_AUTO_TEST_SUITE_END()
