// A thread blocked on a read for the answer to what it sent leads: it reads its connection's
// socket itself while the transport thread sleeps, so that what it waits for needs no hand-off.
// Readers rely on that never losing a message or a wake-up: many blocked readers on one connection,
// deadlines, cancellation and a remote that goes away all end their reads as before.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "codec/frame.hpp"
#include "support.hpp"
#include "transport/transport.hpp"

using namespace duplex;
using namespace duplex::testing;
using namespace std::chrono_literals;

namespace {

// Records what a transport reports to one owner, and on which thread its frames came.
class recorder : public detail::transport_events {
 public:
  void on_connection_up(detail::connection_id conn, const std::string&) override {
    set([&] { up_ = conn; });
  }
  void on_authenticated(detail::connection_id, const std::string&) override {}
  void on_connect_failed(const std::string&, duplex::error) override {}
  void on_frames(detail::connection_id conn, std::vector<wire::frame> frames) override {
    set([&] {
      from_ = conn;
      frames_ += frames.size();
      delivered_on_ = std::this_thread::get_id();
    });
  }
  void on_connection_down(detail::connection_id, duplex::error) override {}

  // The connection, once up (a dealer) or once it sent something (a router).
  detail::connection_id wait_up() {
    return wait_for([&] { return up_; });
  }
  detail::connection_id wait_sender() {
    return wait_for([&] { return from_; });
  }
  std::thread::id wait_delivery(std::size_t frames) {
    wait_for([&] { return frames_ >= frames; });
    std::lock_guard<std::mutex> lock(mutex_);
    return delivered_on_;
  }

 private:
  template <class Change>
  void set(Change change) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      change();
    }
    changed_.notify_all();
  }
  template <class Value>
  auto wait_for(Value value) -> decltype(value()) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait_for(lock, wait_limit, [&] { return value() != decltype(value()){}; });
    return value();
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  detail::connection_id up_ = 0;
  detail::connection_id from_ = 0;
  std::size_t frames_ = 0;
  std::thread::id delivered_on_;
};

std::string data_frame(const char* text) {
  std::string out;
  wire::encode_data(1, reinterpret_cast<const std::uint8_t*>(text), std::strlen(text), out);
  return out;
}

// One transport, a bound owner and a connected one; no heartbeats to wake the loop.
struct two_owners {
  detail::transport net{1};
  std::shared_ptr<recorder> bound = std::make_shared<recorder>();
  std::shared_ptr<recorder> connected = std::make_shared<recorder>();
  detail::connection_id to_bound = 0;      // the connected owner's connection
  detail::connection_id to_connected = 0;  // the bound owner's connection
  two_owners() {
    detail::socket_settings quiet;
    quiet.heartbeat_interval = 60s;
    quiet.heartbeat_timeout = 120s;
    const auto server = net.add_owner(bound, quiet);
    const auto client = net.add_owner(connected, quiet);
    const auto endpoint = net.bind(server, "tcp://127.0.0.1:0");
    BOOST_REQUIRE(endpoint);
    BOOST_REQUIRE(net.connect(client, *endpoint));
    to_bound = connected->wait_up();
    BOOST_REQUIRE(to_bound != 0);
    net.send(to_bound, data_frame("hello"));
    to_connected = bound->wait_sender();
    BOOST_REQUIRE(to_connected != 0);
  }
};

// Leads on `conn` until lead() accepts (the transport thread may be busy for a moment) and
// then until it returns: what came on the socket meanwhile was read on this thread.
void lead_once(detail::transport& net, detail::connection_id conn) {
  const auto give_up = std::chrono::steady_clock::now() + wait_limit;
  while (!net.lead(conn, give_up) && std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(1ms);
}

// Reads everything and answers nothing, for longer than any test waits.
channel_handler silent_handler() {
  return [](channel ch) {
    while (ch.read(wait_limit * 2)) {
    }
  };
}

// A channel to an echo service whose reads block for a while before anything comes.
struct slow_echo {
  runtime rt;
  peer server{rt};
  peer client{rt};
  slow_echo() {
    server.handle("echo", echo_handler());
    server.handle("silent", silent_handler());
    BOOST_REQUIRE(client.connect(*server.bind("tcp://127.0.0.1:0")));
    BOOST_REQUIRE(eventually([&] { return client.peers().size() == 1; }));
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(blocked_readers)

BOOST_AUTO_TEST_CASE(a_thread_that_leads_receives_its_connections_frames_itself) {
  two_owners f;
  std::thread::id leader;
  std::thread reader([&] {
    leader = std::this_thread::get_id();
    lead_once(f.net, f.to_bound);
  });
  BOOST_TEST(eventually([&] { return f.net.has_leader(); }));  // asleep on the socket
  f.net.send(f.to_connected, data_frame("for the leader"));
  const auto delivered_on = f.connected->wait_delivery(1);
  reader.join();
  BOOST_TEST((delivered_on == leader));
}

BOOST_AUTO_TEST_CASE(only_one_thread_leads_a_transport_at_a_time) {
  two_owners f;
  std::thread reader([&] { lead_once(f.net, f.to_bound); });
  BOOST_TEST(eventually([&] { return f.net.has_leader(); }));
  BOOST_TEST(!f.net.lead(f.to_bound, std::chrono::steady_clock::now() + 1s));
  f.net.send(f.to_connected, data_frame("ends the lead"));
  reader.join();
  BOOST_TEST((f.connected->wait_delivery(1) != std::thread::id{}));
}

// A read leads only after its thread sent something (a request, a ping): a stream's reader,
// which only returns credit, is left to the transport thread.
BOOST_AUTO_TEST_CASE(only_a_thread_that_sent_since_its_last_read_is_taken_to_await_an_answer) {
  two_owners f;
  detail::transport::take_sent_since_read();  // what setting up sent
  f.net.send_credit(f.to_bound, data_frame("credit stands in"));
  BOOST_TEST(!detail::transport::take_sent_since_read());
  f.net.send(f.to_bound, data_frame("a request"));
  BOOST_TEST(detail::transport::take_sent_since_read());
  BOOST_TEST(!detail::transport::take_sent_since_read());  // asking clears it
  const auto copied = data_frame("a copied request");
  f.net.send_copy(f.to_bound, copied.data(), copied.size());
  BOOST_TEST(detail::transport::take_sent_since_read());
}

BOOST_AUTO_TEST_CASE(lead_is_refused_for_an_unknown_connection) {
  two_owners f;
  BOOST_TEST(!f.net.lead(f.to_bound + f.to_connected + 100, std::nullopt));
}

BOOST_AUTO_TEST_CASE(threads_blocked_on_one_connection_all_get_their_replies) {
  slow_echo f;
  constexpr int threads = 8, rounds = 100;
  std::atomic<int> replies{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < threads; ++t)
    callers.emplace_back([&, t] {
      auto ch = f.client.open("echo");
      for (int i = 0; i < rounds; ++i) {
        const auto text = std::to_string(t) + "/" + std::to_string(i);
        if (!ch.write(to_bytes(text))) return;
        auto reply = ch.read(wait_limit);
        if (!reply.is_message() || to_string(reply.payload()) != text) return;
        ++replies;
      }
    });
  for (auto& c : callers) c.join();
  BOOST_TEST(replies.load() == threads * rounds);
}

BOOST_AUTO_TEST_CASE(a_reader_that_leads_times_out_at_its_deadline) {
  slow_echo f;
  auto ch = f.client.open("silent");
  BOOST_REQUIRE(ch.write(to_bytes("anyone?")));
  const auto start = std::chrono::steady_clock::now();
  auto r = ch.read(300ms);
  BOOST_TEST((std::chrono::steady_clock::now() - start >= 300ms));
  BOOST_REQUIRE(r.is_error());
  BOOST_TEST((r.error().code == errc::deadline_exceeded), r.error().to_string());
}

BOOST_AUTO_TEST_CASE(a_reader_that_leads_wakes_when_another_thread_cancels_its_channel) {
  slow_echo f;
  auto ch = f.client.open("silent");
  BOOST_REQUIRE(ch.write(to_bytes("anyone?")));
  std::thread canceller([&] {
    std::this_thread::sleep_for(200ms);
    ch.cancel();
  });
  const auto start = std::chrono::steady_clock::now();
  auto r = ch.read(wait_limit);
  canceller.join();
  BOOST_REQUIRE(r.is_error());
  BOOST_TEST((r.error().code == errc::cancelled));
  // Woken by the cancel, not by its own deadline (which would find the cancel too).
  BOOST_TEST((std::chrono::steady_clock::now() - start < wait_limit / 2));
}

BOOST_AUTO_TEST_CASE(a_reader_that_leads_wakes_when_the_remote_peer_goes_away) {
  runtime rt;
  peer client{rt};
  std::optional<channel> ch;
  {
    runtime server_rt;
    peer server{server_rt};
    server.handle("silent", silent_handler());
    BOOST_REQUIRE(client.connect(*server.bind("tcp://127.0.0.1:0")));
    BOOST_REQUIRE(eventually([&] { return client.peers().size() == 1; }));
    ch.emplace(client.open("silent"));
    BOOST_REQUIRE(ch->write(to_bytes("anyone?")));
    BOOST_REQUIRE(eventually([&] { return server.channel_count() == 1; }));
    std::thread reader([&] {
      const auto start = std::chrono::steady_clock::now();
      auto r = ch->read(wait_limit);
      BOOST_TEST(r.is_error());
      BOOST_TEST((r.error().code == errc::unavailable));
      BOOST_TEST((std::chrono::steady_clock::now() - start < wait_limit / 2));
    });
    std::this_thread::sleep_for(200ms);  // the reader waits by now (leading, if it could)
    server.shutdown();
    reader.join();
  }
}

BOOST_AUTO_TEST_SUITE_END()
