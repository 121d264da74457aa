// Reference A8 across processes: open() spreads channels evenly over three server processes,
// and once one is killed only over the live ones. (test/core/routing_test.cpp has the
// in-process variant.)
#include <boost/test/unit_test.hpp>

#include <map>
#include <memory>

#include "harness/testpeer_process.hpp"
#include "harness/testpeer_protocol.hpp"
#include "reliability/reliability_support.hpp"

using namespace duplex;
using namespace duplex::testing;

namespace {

using kind = peer_event::kind;

constexpr auto event_limit = 5s;

// Opens `count` sink channels, ends each at once and counts the remote peers that served them
// (every channel must end cleanly, with the sink's trailers).
std::map<std::string, int> spread(peer& client, int count) {
  std::vector<channel> channels;
  for (int i = 0; i < count; ++i) {
    channels.push_back(client.open(testpeer::sink_service));
    channels.back().close_write();
  }
  std::map<std::string, int> per_peer;
  for (auto& ch : channels) {
    auto end = ch.read(event_limit);
    BOOST_REQUIRE_MESSAGE(end.is_end(), (end.is_error() ? end.error().to_string() : "data"));
    BOOST_REQUIRE(ch.meta().trailers.count(testpeer::count_key) == 1);
    ++per_peer[ch.meta().remote_peer_id];
  }
  return per_peer;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(round_robin)

BOOST_AUTO_TEST_CASE(A8_channels_spread_evenly_over_server_processes_and_skip_a_killed_one) {
  constexpr int channels = 3000;
  constexpr int share = channels / 3;
  constexpr int tolerance = share / 20;  // 5 %
  std::vector<std::unique_ptr<testpeer_process>> servers;
  for (int i = 0; i < 3; ++i)
    servers.push_back(std::make_unique<testpeer_process>(std::vector<std::string>{
        "--bind", "tcp://127.0.0.1:0", "--id", "server-" + std::to_string(i)}));
  runtime rt;
  peer client{rt, reliability_options("client")};
  timed_events events{client};
  for (auto& s : servers) {
    BOOST_REQUIRE(client.connect(s->endpoint()));
    BOOST_REQUIRE_MESSAGE(events.wait_for(kind::connected, s->peer_id(), event_limit),
                          events.describe());
  }

  auto per_peer = spread(client, channels);
  BOOST_TEST(per_peer.size() == 3u);
  for (auto& s : servers) {
    BOOST_TEST_MESSAGE(s->peer_id() << " served " << per_peer[s->peer_id()] << " channels");
    BOOST_TEST(std::abs(per_peer[s->peer_id()] - share) <= tolerance, s->peer_id());
  }

  servers[0]->kill();
  BOOST_REQUIRE_MESSAGE(events.wait_for(kind::disconnected, "server-0", event_limit),
                        events.describe());
  auto after = spread(client, 300);
  BOOST_TEST(after.count("server-0") == 0u);
  for (const char* live : {"server-1", "server-2"}) {
    BOOST_TEST_MESSAGE(live << " served " << after[live] << " of 300 channels after the kill");
    BOOST_TEST(std::abs(after[live] - 150) <= 150 / 20, live);
  }
}

BOOST_AUTO_TEST_SUITE_END()
