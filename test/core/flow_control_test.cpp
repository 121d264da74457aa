// Credit-based flow control: a reader that stops reading pushes back on its writer only, and
// memory stays bounded by the window.
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <fstream>
#include <thread>

#include "support.hpp"

using namespace duplex;
using namespace duplex::testing;

namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool measure_memory = false;  // sanitizers change the allocator's footprint
#else
constexpr bool measure_memory = true;
#endif

std::size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

std::uint64_t fnv1a(std::uint64_t hash, const bytes& data) {
  for (auto b : data) hash = (hash ^ b) * 1099511628211ull;
  return hash;
}

constexpr std::uint64_t fnv_offset = 14695981039346656037ull;

}  // namespace

BOOST_AUTO_TEST_SUITE(flow_control)

BOOST_AUTO_TEST_CASE(stalled_reader_blocks_its_writer_within_one_window_and_spares_other_channels) {
  constexpr std::size_t message_size = 64 * 1024;
  constexpr std::size_t total_bytes = 200u * 1000 * 1000;
  constexpr std::size_t message_count = total_bytes / message_size + 1;

  runtime rt;
  peer_options options;  // default window (8 MiB) and max payload (4 MiB)
  peer server{rt, options};
  std::promise<void> resume_reading;
  auto resume = resume_reading.get_future().share();
  std::promise<std::pair<std::size_t, std::uint64_t>> server_result;
  server.handle("slow", [&](channel ch) {
    resume.wait_for(6 * wait_limit);
    std::size_t received = 0;
    std::uint64_t checksum = fnv_offset;
    while (auto msg = ch.read(wait_limit)) {
      received += msg->size();
      checksum = fnv1a(checksum, *msg);
    }
    server_result.set_value({received, checksum});
  });
  server.handle("ping", echo_handler());
  peer client{rt, options};
  BOOST_REQUIRE(client.connect(*server.bind("tcp://127.0.0.1:0")));

  // Warm up the connection so that the baseline includes its buffers.
  auto ping = client.open("ping");
  BOOST_REQUIRE(ping.write(to_bytes("warm-up")));
  BOOST_REQUIRE(ping.read(wait_limit).is_message());
  const auto baseline = resident_bytes();

  auto slow = client.open("slow");
  std::atomic<std::size_t> written{0};
  std::uint64_t sent_checksum = fnv_offset;
  std::thread writer([&] {
    for (std::size_t i = 0; i < message_count; ++i) {
      auto payload = make_payload(message_size, static_cast<std::uint8_t>(i));
      sent_checksum = fnv1a(sent_checksum, payload);
      if (!slow.write(std::move(payload), 6 * wait_limit)) return;
      written += message_size;
    }
    slow.close_write();
  });
  // A failed check must not leave the writer joinable (std::terminate ends the whole run).
  struct join_on_exit {
    channel& ch;
    std::thread& thread;
    ~join_on_exit() {
      if (!thread.joinable()) return;
      ch.cancel();
      thread.join();
    }
  } writer_guard{slow, writer};

  // The writer stalls once the window is used up.
  std::size_t stalled_at = 0;
  BOOST_REQUIRE(eventually([&] {
    auto before = written.load();
    std::this_thread::sleep_for(200ms);
    stalled_at = written.load();
    return stalled_at == before && stalled_at > 0;
  }));
  const std::size_t window = options.channel_window;
  BOOST_TEST(stalled_at <= window);
  BOOST_TEST(stalled_at >= window / 2);
  if (measure_memory) {
    auto growth = resident_bytes() - std::min(resident_bytes(), baseline);
    BOOST_TEST_MESSAGE("RSS growth while stalled: " << growth / 1024 << " KiB");
    BOOST_TEST(growth < window + (16u << 20));
  }

  // Another channel on the same connection keeps its round trips going.
  for (int i = 0; i < 100; ++i) {
    BOOST_REQUIRE(ping.write(to_bytes("ping " + std::to_string(i)), wait_limit));
    auto pong = ping.read(wait_limit);
    BOOST_REQUIRE_MESSAGE(pong.is_message(), pong.error().to_string());
  }
  BOOST_TEST(written.load() == stalled_at);  // still stalled

  resume_reading.set_value();
  auto result = server_result.get_future();
  BOOST_REQUIRE((result.wait_for(6 * wait_limit) == std::future_status::ready));
  writer.join();
  auto [received, checksum] = result.get();
  BOOST_TEST(received == message_count * message_size);
  BOOST_TEST(checksum == sent_checksum);
}

BOOST_AUTO_TEST_CASE(async_write_waits_for_credit_and_try_write_is_refused) {
  runtime rt;
  peer_options options;
  options.max_payload = 1024;
  options.channel_window = 4096;
  options.pending_bytes = 4096;
  peer server{rt, options};
  std::promise<void> resume_reading;
  auto resume = resume_reading.get_future().share();
  std::promise<std::size_t> count;
  server.handle("slow", [&](channel ch) {
    resume.wait_for(wait_limit);
    std::size_t n = 0;
    while (ch.read(wait_limit)) ++n;
    count.set_value(n);
  });
  peer client{rt, options};
  BOOST_REQUIRE(client.connect(*server.bind("tcp://127.0.0.1:0")));
  auto ch = client.open("slow");
  // 4096 bytes of credit hold four 1000-byte messages (cost 1016 each).
  std::size_t accepted = 0;
  while (ch.try_write(make_payload(1000))) ++accepted;
  BOOST_TEST(accepted == 4u);
  BOOST_TEST(ch.try_write(make_payload(1000)).code() == errc::resource_exhausted);
  auto waiting = ch.write_async(make_payload(1000));
  BOOST_TEST((waiting.wait_for(100ms) == std::future_status::timeout));
  resume_reading.set_value();
  BOOST_REQUIRE((waiting.wait_for(wait_limit) == std::future_status::ready));
  BOOST_TEST(waiting.get().ok());
  BOOST_REQUIRE(ch.close_write());
  auto n = count.get_future();
  BOOST_REQUIRE((n.wait_for(wait_limit) == std::future_status::ready));
  BOOST_TEST(n.get() == 5u);
}

// Writes leave either straight from the writer's thread or through the channel actor when the
// window is full; whichever way, each writer's messages keep their order, none is lost, the
// window holds, and the end that follows them finishes the channel.
BOOST_AUTO_TEST_CASE(writers_on_many_threads_keep_order_through_a_window_that_fills_and_reopens) {
  constexpr int writers = 4;
  constexpr std::uint32_t per_writer = 3000;
  runtime rt;
  peer_options options;
  options.max_payload = 256;
  options.channel_window = 2048;  // a few dozen messages: the writers keep running into it
  options.pending_bytes = 2048;
  peer server{rt, options};
  std::promise<std::vector<std::vector<std::uint32_t>>> received;
  server.handle("sequences", [&](channel ch) {
    std::vector<std::vector<std::uint32_t>> by_writer(writers);
    while (auto msg = ch.read(wait_limit)) {
      if (msg->size() != 5) break;
      std::uint32_t n = 0;
      for (int i = 0; i < 4; ++i) n = (n << 8) | (*msg)[static_cast<std::size_t>(1 + i)];
      by_writer.at((*msg)[0]).push_back(n);
    }
    ch.close_write();
    received.set_value(std::move(by_writer));
  });
  peer client{rt, options};
  BOOST_REQUIRE(client.connect(*server.bind("tcp://127.0.0.1:0")));
  auto ch = client.open("sequences");
  std::vector<std::thread> threads;
  std::atomic<int> failed_writes{0};
  for (int w = 0; w < writers; ++w)
    threads.emplace_back([&, w] {
      for (std::uint32_t n = 0; n < per_writer; ++n) {
        bytes msg{static_cast<std::uint8_t>(w), static_cast<std::uint8_t>(n >> 24),
                  static_cast<std::uint8_t>(n >> 16), static_cast<std::uint8_t>(n >> 8),
                  static_cast<std::uint8_t>(n)};
        if (!ch.write(msg, wait_limit)) ++failed_writes;
      }
    });
  for (auto& t : threads) t.join();
  BOOST_TEST(failed_writes.load() == 0);
  BOOST_REQUIRE(ch.close_write());
  auto result = received.get_future();
  BOOST_REQUIRE((result.wait_for(wait_limit) == std::future_status::ready));
  auto by_writer = result.get();
  for (int w = 0; w < writers; ++w) {
    BOOST_TEST(by_writer[w].size() == per_writer);
    bool in_order = true;
    for (std::uint32_t n = 0; n < by_writer[w].size(); ++n) in_order &= by_writer[w][n] == n;
    BOOST_TEST(in_order, "writer " << w << "'s messages arrived out of order");
  }
  BOOST_TEST(ch.read(wait_limit).is_end());
  BOOST_TEST(eventually([&] { return client.channel_count() == 0; }));
}

BOOST_AUTO_TEST_CASE(connection_window_caps_unread_data_across_channels) {
  runtime rt;
  peer_options options;
  options.max_payload = 16 * 1024;
  options.channel_window = 64 * 1024;
  options.connection_window = 128 * 1024;  // less than three stalled channels hold
  options.pending_bytes = 64 * 1024;
  peer server{rt, options};
  std::promise<void> release;
  auto released = release.get_future().share();
  std::atomic<std::size_t> drained{0};
  server.handle("stall", [&](channel ch) {
    released.wait_for(2 * wait_limit);
    while (auto msg = ch.read(wait_limit)) drained += msg->size();
  });
  server.handle("ping", echo_handler());
  peer client{rt, options};
  BOOST_REQUIRE(client.connect(*server.bind("tcp://127.0.0.1:0")));
  auto ping = client.open("ping");
  BOOST_REQUIRE(ping.write(to_bytes("before")));
  BOOST_REQUIRE(ping.read(wait_limit).is_message());

  // Three channels each fill their channel window; together they exceed the connection window.
  std::vector<channel> stalled;
  for (int c = 0; c < 3; ++c) {
    stalled.push_back(client.open("stall"));
    while (stalled.back().try_write(make_payload(8 * 1024))) {
    }
  }
  // Once the stalled data has reached the server, the ping channel (which still has channel
  // credit) waits for connection credit: some ping stops being answered.
  std::string blocked;
  for (int i = 0; i < 50 && blocked.empty(); ++i) {
    auto text = "ping " + std::to_string(i);
    BOOST_REQUIRE(ping.write(to_bytes(text)));
    auto r = ping.read(200ms);
    if (r.is_error()) {
      BOOST_REQUIRE(r.error().code == errc::deadline_exceeded);
      blocked = text;
    }
  }
  BOOST_REQUIRE_MESSAGE(!blocked.empty(), "the connection window never held the ping back");

  release.set_value();  // the stalled readers consume and return credit
  auto pong = ping.read(wait_limit);
  BOOST_REQUIRE_MESSAGE(pong.is_message(), pong.error().to_string());
  BOOST_TEST(to_string(*pong) == blocked);
  for (auto& ch : stalled) BOOST_REQUIRE(ch.close_write());
  BOOST_TEST(eventually([&] { return drained.load() >= 3 * 7 * 8 * 1024u; }));
}

// Connection credit of channels that end goes back in chunks rather than per channel: it must
// still come back, or a connection that carries many short channels would stall for good.
BOOST_AUTO_TEST_CASE(connection_credit_of_many_short_channels_keeps_coming_back) {
  runtime rt;
  peer_options options;
  options.max_payload = 4 * 1024;
  options.channel_window = 16 * 1024;
  options.connection_window = 64 * 1024;  // 2000 requests of 1 KiB are 30 windows' worth
  options.pending_bytes = 16 * 1024;
  peer server{rt, options};
  server.handle("echo", echo_handler());
  peer client{rt, options};
  BOOST_REQUIRE(client.connect(*server.bind("tcp://127.0.0.1:0")));
  for (int i = 0; i < 2000; ++i) {
    auto ch = client.open("echo");
    BOOST_REQUIRE(ch.write(make_payload(1024), wait_limit));
    BOOST_REQUIRE(ch.close_write());
    auto reply = ch.read(wait_limit);
    BOOST_REQUIRE_MESSAGE(reply.is_message(), "call " << i << ": " << reply.error().to_string());
    BOOST_TEST(reply->size() == 1024u);
    BOOST_REQUIRE(ch.read(wait_limit).is_end());
  }
}

BOOST_AUTO_TEST_SUITE_END()
