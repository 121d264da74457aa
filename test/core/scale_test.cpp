// Many channels at once, served by an actor through the actor face.
#include <boost/test/unit_test.hpp>

#include <duplex/actor_face.hpp>

#include "support.hpp"

using namespace duplex;
using namespace duplex::testing;

namespace {

// Echoes every channel it is given, without blocking a CAF worker. (It takes an argument
// because CAF 0.17 dereferences a null argument tuple for actors spawned without any, which
// UndefinedBehaviorSanitizer reports.)
caf::behavior echo_acceptor(caf::event_based_actor* self, std::string /*name*/) {
  return {
      [self](channel_atom, caf::actor ch, const std::string&, const metadata&) {
        self->send(ch, subscribe_atom::value, caf::actor_cast<caf::actor>(self));
      },
      [self](data_atom, caf::actor ch, bytes& payload) {
        self->request(ch, caf::infinite, write_atom::value, std::move(payload)).then([] {});
      },
      [self](end_atom, caf::actor ch, const metadata&) { self->send(ch, end_atom::value); },
      [](error_atom, caf::actor, std::uint32_t, const std::string&) {},
  };
}

}  // namespace

BOOST_AUTO_TEST_SUITE(scale)

BOOST_AUTO_TEST_CASE(ten_thousand_concurrent_channels_each_do_round_trips) {
  constexpr int channel_count = 10000;
  constexpr int round_trips = 3;
  runtime rt;
  peer server{rt};
  auto acceptor = rt.system().spawn(echo_acceptor, std::string("echo"));
  caf::anon_send(server.actor(), serve_atom::value, std::string("echo"), acceptor);
  peer client{rt};
  BOOST_REQUIRE(client.connect(*server.bind("tcp://127.0.0.1:0")));

  std::vector<channel> channels;
  channels.reserve(channel_count);
  for (int i = 0; i < channel_count; ++i) channels.push_back(client.open("echo"));
  for (int round = 0; round < round_trips; ++round) {
    std::vector<std::future<read_result>> replies;
    replies.reserve(channel_count);
    for (int i = 0; i < channel_count; ++i) {
      BOOST_REQUIRE(channels[i].write(to_bytes(std::to_string(i * 10 + round)), wait_limit));
      replies.push_back(channels[i].read_future());
    }
    if (round == 0) {
      // Every channel is open at both ends before any closes.
      BOOST_TEST(eventually([&] { return server.channel_count() == channel_count; }));
      BOOST_TEST(client.channel_count() == static_cast<std::size_t>(channel_count));
    }
    for (int i = 0; i < channel_count; ++i) {
      BOOST_REQUIRE((replies[i].wait_for(4 * wait_limit) == std::future_status::ready));
      auto r = replies[i].get();
      BOOST_REQUIRE_MESSAGE(r.is_message(), r.error().to_string());
      BOOST_REQUIRE_EQUAL(to_string(*r), std::to_string(i * 10 + round));
    }
  }
  for (auto& ch : channels) BOOST_REQUIRE(ch.close_write());
  for (auto& ch : channels) BOOST_REQUIRE(ch.read(wait_limit).is_end());
  BOOST_TEST(
      eventually([&] { return client.channel_count() == 0 && server.channel_count() == 0; }));
  caf::anon_send_exit(acceptor, caf::exit_reason::user_shutdown);
}

namespace {
std::size_t open_fds() {
  std::size_t n = 0;
  for ([[maybe_unused]] auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}
}  // namespace

// Connection churn must not leak sockets: fds return to the baseline after thousands of
// connects and disconnects, some completing HELLO, most not.
BOOST_AUTO_TEST_CASE(ten_thousand_connects_and_disconnects_leave_no_fds_behind) {
  runtime rt;
  peer server(rt, with_id("server"));
  server.handle("echo", echo_handler());
  auto endpoint = *server.bind("tcp://127.0.0.1:0");
  peer client(rt, with_id("client"));
  // Warm up: the first connection creates the transport's lasting fds.
  BOOST_REQUIRE(client.connect(endpoint));
  BOOST_REQUIRE(eventually([&] { return server.peers().size() == 1; }));
  BOOST_REQUIRE(client.disconnect(endpoint));
  BOOST_REQUIRE(eventually([&] { return server.peers().empty(); }));
  const auto baseline = open_fds();

  for (int i = 0; i < 10'000; ++i) {
    BOOST_REQUIRE(client.connect(endpoint));
    if (i % 50 == 0) {  // every 50th completes HELLO and carries a channel
      BOOST_REQUIRE(eventually([&] { return client.peers().size() == 1; }));
      auto ch = client.open("echo");
      BOOST_REQUIRE(ch.write(to_bytes("x")));
      BOOST_REQUIRE(ch.read(wait_limit).is_message());
    }
    BOOST_REQUIRE(client.disconnect(endpoint));
  }
  BOOST_TEST(eventually([&] { return open_fds() <= baseline; }, 10s),
             "fds: " << open_fds() << " against a baseline of " << baseline);
  // The server learns of the last disconnections from its socket monitor, behind the churn.
  BOOST_TEST(eventually([&] { return server.peers().empty() && server.channel_count() == 0; }, 10s),
             "the server still has " << server.peers().size() << " peers and "
                                     << server.channel_count() << " channels");
  BOOST_TEST(client.channel_count() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
