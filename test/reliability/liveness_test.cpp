// Reference section B, liveness: reconnecting to an absent server backs off instead of
// spinning (B4), and a handler that blocks for a long time is not mistaken for a dead peer
// (B7).
#include <boost/test/unit_test.hpp>

#include <duplex/rpc.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "harness/testpeer_process.hpp"
#include "harness/testpeer_protocol.hpp"
#include "reliability/reliability_support.hpp"

using namespace duplex;
using namespace duplex::testing;

namespace {

using kind = peer_event::kind;

constexpr auto event_limit = 5s;

// A tcp port on 127.0.0.1 that nobody listens on: bound by the kernel's choice, then freed.
int unused_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  BOOST_REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
               ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  ::close(fd);
  BOOST_REQUIRE(bound);
  return ntohs(address.sin_port);
}

// CPU time (user + system) a process has used so far, from /proc/<pid>/stat.
std::chrono::milliseconds cpu_time(pid_t pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  auto after_name = text.rfind(')');  // the name may hold spaces and parentheses
  BOOST_REQUIRE(after_name != std::string::npos);
  std::istringstream fields(text.substr(after_name + 2));
  std::vector<std::string> field;
  for (std::string f; fields >> f;) field.push_back(f);
  // Fields 14 and 15 of stat(5), utime and stime in clock ticks; field 3 is field[0] here.
  BOOST_REQUIRE(field.size() > 12);
  auto ticks = std::stoull(field[11]) + std::stoull(field[12]);
  return std::chrono::milliseconds{ticks * 1000 /
                                   static_cast<unsigned long long>(::sysconf(_SC_CLK_TCK))};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(liveness)

// B4: a testpeer told to connect to a port where nothing listens keeps trying, backing off to
// reconnect_interval_max, without burning CPU; once a server appears there it connects.
BOOST_AUTO_TEST_CASE(B4_reconnecting_to_an_absent_server_backs_off_without_spinning) {
  // 8 s of absence: long enough for the backoff to reach its maximum (100 ms doubling to 1 s
  // takes under 2 s) and spend most of the time there, short enough for the suite.
  constexpr auto absence = 8s;
  // Reference criterion: "well under 1 s" of CPU over the absence. An idle testpeer uses a few
  // tens of milliseconds; a reconnect loop without backoff would use far more.
  constexpr auto cpu_limit = 500ms;
  auto endpoint = "tcp://127.0.0.1:" + std::to_string(unused_port());
  testpeer_process dialer({"--connect", endpoint, "--id", "dialer"});

  auto cpu_before = cpu_time(dialer.pid());
  std::this_thread::sleep_for(absence);  // the period measured, not a wait for an event
  auto cpu_used = cpu_time(dialer.pid()) - cpu_before;
  BOOST_TEST_MESSAGE("CPU time of the dialing testpeer over "
                     << absence.count() << " s: " << cpu_used.count() << " ms");
  BOOST_TEST(cpu_used.count() < cpu_limit.count());
  BOOST_TEST(dialer.running());

  // It still tries: a server that appears now is reached within one backoff period.
  testpeer_process server({"--bind", endpoint, "--id", "server"});
  auto ready_at = clock::now();
  constexpr auto reconnect_limit = reconnect_interval_max + 1s;
  auto connected = dialer.expect_line("CONNECTED server", reconnect_limit + 5s);
  BOOST_REQUIRE_MESSAGE(connected, "the dialer never connected");
  BOOST_TEST_MESSAGE("connected " << ms_between(ready_at, clock::now())
                                  << " ms after the server was ready");
  BOOST_TEST(ms_between(ready_at, clock::now()) <= reconnect_limit.count());
}

// B7: a handler blocked for many heartbeat timeouts does not make its peer look dead.
BOOST_AUTO_TEST_CASE(B7_blocking_handler_does_not_fake_a_disconnect) {
  // The reference blocks for 30 s with 1 s heartbeats. Liveness is answered off the handler
  // threads, so a mistake would show within one heartbeat_timeout (3 s) of the handler
  // blocking; 8 s is more than two full interval + timeout periods and keeps the suite short.
  constexpr auto blocked = 8s;
  testpeer_process server({"--bind", "tcp://127.0.0.1:0", "--id", "server"});
  runtime rt;
  peer client{rt, reliability_options("client")};
  rpc::service_registry no_services;
  rpc::node client_rpc{client, no_services};
  timed_events events{client};
  BOOST_REQUIRE(client.connect(server.endpoint()));
  BOOST_REQUIRE_MESSAGE(events.wait_for(kind::connected, "server", event_limit), events.describe());

  rpc::call_options options;
  options.timeout = blocked + 20s;
  auto started_at = clock::now();
  auto call = client_rpc.call_async<testpeer::sleep_reply>(
      testpeer::rpc_sleep,
      testpeer::sleep_request{static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::milliseconds>(blocked).count())},
      options);

  // While that handler blocks, the peer keeps serving: a round trip past the heartbeat timeout.
  std::this_thread::sleep_for(heartbeat_timeout + heartbeat_interval);
  auto ch = client.open(testpeer::echo_service);
  BOOST_REQUIRE(ch.write(to_bytes("still there?")));
  auto reply = ch.read(event_limit);
  BOOST_TEST(reply.is_message(), reply.error());
  ch.close();

  BOOST_REQUIRE((call.wait_for(blocked + 20s) == std::future_status::ready));
  auto slept = call.get();
  BOOST_REQUIRE_MESSAGE(slept, slept.error());
  BOOST_TEST(slept->slept_ms >=
             static_cast<std::uint64_t>(
                 std::chrono::duration_cast<std::chrono::milliseconds>(blocked).count()));
  BOOST_TEST_MESSAGE("the call returned after " << ms_between(started_at, clock::now()) << " ms");
  BOOST_TEST(events.count(kind::disconnected, "server") == 0u, events.describe());
  BOOST_TEST(!server.expect_line("DISCONNECTED", 0ms).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
