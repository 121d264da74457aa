// send_batch: what a thread writes while one lives leaves together, in one message, and
// holding never reorders a connection's frames or keeps them from a reader that waits.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <optional>
#include <thread>
#include <vector>

#include "raw_client.hpp"
#include "support.hpp"

using namespace duplex;
using namespace duplex::testing;

namespace {

using frame_list = std::vector<std::pair<int, std::uint64_t>>;
constexpr int open_kind = 2, data_kind = 3, end_kind = 4;

// A bound peer and a raw client it knows as "raw": the wire as the remote sees it.
struct raw_remote {
  runtime rt;
  peer server{rt};
  std::optional<raw_client> raw;
  raw_remote() {
    raw.emplace(*server.bind("tcp://127.0.0.1:0"));
    raw->hello("raw");
    BOOST_REQUIRE(raw->wait_for(1));  // the peer's HELLO: it knows "raw" now
    BOOST_REQUIRE(eventually([&] {
      auto ids = server.peers();
      return std::find(ids.begin(), ids.end(), "raw") != ids.end();
    }));
  }
};

// The remote's next message holding an OPEN is that OPEN, two DATA and the END, one channel's.
void expect_open_two_messages_and_end_together(raw_client& raw) {
  auto frames = raw.message_with(open_kind);
  BOOST_REQUIRE(!frames.empty());
  const auto id = frames.front().second;
  BOOST_TEST(
      (frames == frame_list{{open_kind, id}, {data_kind, id}, {data_kind, id}, {end_kind, id}}));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(send_batches)

BOOST_AUTO_TEST_CASE(an_open_its_messages_and_its_end_written_in_a_batch_leave_in_one_message) {
  raw_remote f;
  std::optional<channel> ch;
  {
    send_batch together;
    ch.emplace(f.server.open_to("raw", "sink"));
    BOOST_REQUIRE(ch->write(to_bytes("a")));
    BOOST_REQUIRE(ch->write(to_bytes("b")));
    BOOST_REQUIRE(ch->close_write());
  }
  expect_open_two_messages_and_end_together(*f.raw);
}

BOOST_AUTO_TEST_CASE(nested_batches_send_when_the_outermost_ends) {
  raw_remote f;
  std::optional<channel> ch;
  {
    send_batch outer;
    {
      send_batch inner;
      ch.emplace(f.server.open_to("raw", "sink"));
      BOOST_REQUIRE(ch->write(to_bytes("a")));
    }
    BOOST_REQUIRE(ch->write(to_bytes("b")));
    BOOST_REQUIRE(ch->close_write());
  }
  expect_open_two_messages_and_end_together(*f.raw);
}

BOOST_AUTO_TEST_CASE(a_read_inside_a_batch_lets_the_held_frames_go_first) {
  echo_peers f;
  send_batch together;
  auto ch = f.client.open("echo");
  BOOST_REQUIRE(ch.write(to_bytes("ping")));
  // The echo answers frames the batch still holds: the read must let them go, or wait forever.
  auto r = ch.read(wait_limit);
  BOOST_REQUIRE_MESSAGE(r.is_message(), r.error().to_string());
  BOOST_TEST(to_string(r.payload()) == "ping");
}

BOOST_AUTO_TEST_CASE(batches_on_many_threads_keep_a_connections_channel_ids_rising) {
  // Each OPEN's id is taken when the channel opens, but the OPEN leaves when its batch ends:
  // batches that end out of order must still put OPENs on the wire in id order (the remote
  // refuses an id not above the last one).
  echo_peers f;
  constexpr int threads = 4, calls = 50;
  std::atomic<int> answered{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&, t] {
      for (int i = 0; i < calls; ++i) {
        auto text = std::to_string(t) + "/" + std::to_string(i);
        std::optional<channel> ch;
        {
          send_batch together;
          ch.emplace(f.client.open("echo"));
          if (i % 2) std::this_thread::yield();  // let other threads' batches overtake
          if (!ch->write(to_bytes(text)) || !ch->close_write()) continue;
        }
        auto r = ch->read(wait_limit);
        if (r.is_message() && to_string(r.payload()) == text && ch->read(wait_limit).is_end())
          ++answered;
      }
    });
  for (auto& w : workers) w.join();
  BOOST_TEST(answered.load() == threads * calls);
}

BOOST_AUTO_TEST_SUITE_END()
