// Reference B5 (and B4's attempt count) between two network namespaces: a testpeer serves in
// namespace b, the client is a peer of this process whose sockets live in namespace a. The
// link between them is cut (ip link set down, or an nft rule that silently drops everything)
// and healed; both sides must notice the cut by heartbeats and find each other again.
#include <boost/test/unit_test.hpp>

#include <memory>
#include <regex>

#include "harness/testpeer_process.hpp"
#include "harness/testpeer_protocol.hpp"
#include "netns/netns_support.hpp"
#include "reliability/reliability_support.hpp"

using namespace duplex;
using namespace duplex::testing;

namespace {

using kind = peer_event::kind;
namespace utf = boost::unit_test;

constexpr auto event_limit = 5s;
// A cut link carries nothing, so each side fails the connection heartbeat_timeout after the
// last traffic it received; measured from the cut that is up to one heartbeat_interval more
// (the other side's last PING may be that old), plus a second for a loaded machine.
constexpr auto cut_detection_limit = heartbeat_interval + heartbeat_timeout + 1s;

std::unique_ptr<runtime> runtime_in(const std::string& network_namespace) {
  std::unique_ptr<runtime> rt;
  in_network_namespace(network_namespace, [&] { rt = std::make_unique<runtime>(); });
  return rt;
}

// The server in namespace b, the client (this process, its sockets in namespace a) connected.
struct two_hosts {
  namespace_pair net;
  testpeer_process server{
      {"--bind", "tcp://" + std::string(namespace_pair::b_address) + ":0", "--id", "server"},
      namespace_pair::exec_in(net.b())};
  std::unique_ptr<runtime> rt = runtime_in(net.a());
  peer client{*rt, reliability_options("client")};
  timed_events events{client};

  two_hosts() {
    BOOST_REQUIRE(client.connect(server.endpoint()));
    BOOST_REQUIRE_MESSAGE(events.wait_for(kind::connected, "server", event_limit),
                          events.describe());
    BOOST_REQUIRE(server.expect_line("CONNECTED client", event_limit));
  }
};

void require_streaming(stream_worker& w) {
  if (!w.wait_progress(w.progress() + 100, event_limit))
    BOOST_FAIL(w.name() << " is not streaming: " << w.finish());
}

// Cuts the link while a channel streams over it, checks that both sides notice, heals it and
// checks that they reconnect and new channels work. `reconnect_limit`: from the heal.
void cut_and_heal(two_hosts& hosts, const std::function<void()>& cut,
                  const std::function<void()>& heal, std::chrono::milliseconds reconnect_limit) {
  auto streaming = std::make_unique<stream_worker>(hosts.client, "server", stream_kind::echo);
  require_streaming(*streaming);

  auto cut_at = clock::now();
  cut();
  auto gone = hosts.events.wait_for(kind::disconnected, "server", cut_detection_limit + 5s);
  BOOST_REQUIRE_MESSAGE(gone, "the client never noticed: " << hosts.events.describe());
  BOOST_TEST_MESSAGE("client noticed after " << ms_between(cut_at, gone->at)
                                             << " ms: " << gone->event.reason);
  BOOST_TEST(ms_between(cut_at, gone->at) <=
             std::chrono::milliseconds{cut_detection_limit}.count());
  BOOST_TEST(gone->event.reason.code == errc::unavailable);
  // Read after the client's event: the time is an upper bound on the server's.
  auto server_saw = hosts.server.expect_line("DISCONNECTED client", cut_detection_limit + 5s);
  auto server_at = clock::now();
  BOOST_REQUIRE_MESSAGE(server_saw, "the server never noticed");
  BOOST_TEST_MESSAGE("server noticed within " << ms_between(cut_at, server_at)
                                              << " ms: " << *server_saw);
  BOOST_TEST(ms_between(cut_at, server_at) <=
             std::chrono::milliseconds{cut_detection_limit}.count());
  auto failed = streaming->wait_channel_failed(event_limit);
  BOOST_REQUIRE(failed);
  BOOST_TEST(failed->reason.code == errc::unavailable, failed->reason);
  streaming.reset();

  auto healed_at = clock::now();
  heal();
  auto back = hosts.events.wait_for(kind::connected, "server", reconnect_limit + 10s, 2);
  BOOST_REQUIRE_MESSAGE(back, "no reconnection: " << hosts.events.describe());
  BOOST_TEST_MESSAGE("reconnected " << ms_between(healed_at, back->at) << " ms after the heal");
  BOOST_TEST(ms_between(healed_at, back->at) <= reconnect_limit.count());
  BOOST_TEST(hosts.server.expect_line("CONNECTED client", event_limit).has_value());

  stream_worker fresh(hosts.client, "server", stream_kind::echo);
  require_streaming(fresh);
  auto problems = fresh.finish();
  BOOST_TEST(problems.empty(), problems);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(link_faults)

BOOST_AUTO_TEST_CASE(B5_link_down_is_noticed_on_both_sides_and_healing_reconnects,
                     *utf::precondition(netns_available)) {
  two_hosts hosts;
  auto set_link = [&](const char* state) {
    BOOST_REQUIRE(
        run_command({"ip", "-n", hosts.net.a(), "link", "set", hosts.net.a_device(), state}) == 0);
  };
  // With the link down, connecting fails at once (ENETUNREACH): the client retries every
  // reconnect_interval_max at most, then the HELLO exchange follows.
  cut_and_heal(
      hosts, [&] { set_link("down"); }, [&] { set_link("up"); }, reconnect_interval_max + 1s);
}

BOOST_AUTO_TEST_CASE(B5_silent_partition_is_noticed_on_both_sides_and_healing_reconnects,
                     *utf::precondition(netns_and_nft_available)) {
  two_hosts hosts;
  const std::string peer_address = namespace_pair::b_address;
  auto nft = [&](std::vector<std::string> args) {
    args.insert(args.begin(), "nft");
    namespace_pair::run_in(hosts.net.a(), std::move(args));
  };
  auto cut = [&] {
    // Namespace a drops everything to and from b: nothing is refused, nothing arrives.
    nft({"add", "table", "inet", "dpxt"});
    nft({"add chain inet dpxt out { type filter hook output priority 0 ; }"});
    nft({"add chain inet dpxt in { type filter hook input priority 0 ; }"});
    nft({"add rule inet dpxt out ip daddr " + peer_address + " drop"});
    nft({"add rule inet dpxt in ip saddr " + peer_address + " drop"});
  };
  auto heal = [&] { nft({"delete", "table", "inet", "dpxt"}); };
  // A reconnect attempt made during the partition is a SYN that was dropped. The transport
  // gives such a connect up after heartbeat_timeout (ZMQ_CONNECT_TIMEOUT) and tries again
  // within reconnect_interval_max, instead of waiting for the kernel's SYN backoff.
  cut_and_heal(hosts, cut, heal, heartbeat_timeout + reconnect_interval_max + 1s);
}

// B4, counted: the SYNs a dialing testpeer sends to a host where nothing listens (each is
// refused at once) show the reconnect interval growing to reconnect_interval_max.
BOOST_AUTO_TEST_CASE(B4_reconnect_attempts_back_off_to_the_maximum_interval,
                     *utf::precondition(netns_and_nft_available)) {
  namespace_pair net;
  const std::string port = "5555";
  auto nft_b = [&](std::vector<std::string> args, std::string* output = nullptr) {
    args.insert(args.begin(), "nft");
    namespace_pair::run_in(net.b(), std::move(args), output);
  };
  nft_b({"add", "table", "inet", "dpxt"});
  nft_b({"add", "counter", "inet", "dpxt", "attempts"});
  nft_b({"add chain inet dpxt in { type filter hook input priority 0 ; }"});
  nft_b({"add rule inet dpxt in tcp dport " + port +
         " tcp flags & (syn | ack) == syn counter name attempts"});
  auto attempts = [&] {
    std::string listing;
    nft_b({"list", "counter", "inet", "dpxt", "attempts"}, &listing);
    std::smatch match;
    BOOST_REQUIRE_MESSAGE(std::regex_search(listing, match, std::regex("packets ([0-9]+)")),
                          listing);
    return std::stoi(match[1]);
  };

  testpeer_process dialer(
      {"--connect", "tcp://" + std::string(namespace_pair::b_address) + ":" + port, "--id",
       "dialer"},
      namespace_pair::exec_in(net.a()));
  // 100 ms doubling (plus up to 100 ms of libzmq jitter each time) reaches the 1 s maximum
  // within 2 s; from then on one attempt per 1.0-1.1 s.
  std::this_thread::sleep_for(2s);  // the periods measured, not waits for events
  auto early = attempts();
  std::this_thread::sleep_for(6s);
  auto late = attempts() - early;
  BOOST_TEST_MESSAGE("attempts: " << early << " in the first 2 s, " << late << " in the next 6 s");
  // Without a backoff the 100 ms interval would give about 20 and 60.
  BOOST_TEST(early >= 3);
  BOOST_TEST(early <= 8);
  BOOST_TEST(late >= 4);  // it keeps trying ...
  BOOST_TEST(late <= 8);  // ... about once per reconnect_interval_max
  BOOST_TEST(dialer.running());
}

BOOST_AUTO_TEST_SUITE_END()
