// Hostile input straight on the socket: random bytes, undecodable batches and frames that
// break the rules. Connection errors end that connection (BYE internal), rule violations end
// one channel (CANCEL), nothing crashes, and a good client still works afterwards.
#include <boost/test/unit_test.hpp>

#include <msgpack.hpp>
#include <zmq.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <random>

#include "raw_client.hpp"
#include "support.hpp"

using namespace duplex;
using namespace duplex::testing;

namespace {

struct server_fixture {
  runtime rt;
  peer server{rt};
  std::string endpoint;
  server_fixture() {
    server.handle("echo", echo_handler());
    endpoint = *server.bind("tcp://127.0.0.1:0");
  }

  void good_client_still_works() {
    peer client{rt};
    BOOST_REQUIRE(client.connect(endpoint));
    auto ch = client.open("echo");
    for (int i = 0; i < 10; ++i) {
      BOOST_REQUIRE(ch.write(to_bytes("ping")));
      auto r = ch.read(wait_limit);
      BOOST_REQUIRE_MESSAGE(r.is_message(), r.error().to_string());
    }
  }
};

// The server answers a rule violation on `channel` with CANCEL `code`.
void expect_cancel(raw_client& raw, std::uint64_t channel, int code) {
  auto cancel = raw.wait_for(7, channel);
  BOOST_REQUIRE_MESSAGE(cancel, "no CANCEL on channel " << channel);
  BOOST_TEST(raw_client::code_of(*cancel) == code);
}

std::string base64_decode(const std::string& in) {
  static const std::string chars =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::uint32_t value = 0;
  int bits = -8;
  for (char c : in) {
    if (c == '=') break;
    value = ((value << 6) + static_cast<std::uint32_t>(chars.find(c))) & 0xffffff;
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<char>((value >> bits) & 0xff));
      bits -= 8;
    }
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(hostile)

BOOST_AUTO_TEST_CASE(random_bytes_from_a_raw_dealer_get_bye_internal) {
  server_fixture f;
  std::mt19937 random(42);
  for (int round = 0; round < 20; ++round) {
    raw_client raw{f.endpoint};
    std::string junk(1 + random() % 512, '\0');
    for (auto& c : junk) c = static_cast<char>(random());
    raw.send_raw(junk);
    auto bye = raw.wait_for(11);
    BOOST_REQUIRE_MESSAGE(bye, "no BYE after random bytes");
    BOOST_TEST(raw_client::code_of(*bye) == 13);
  }
  f.good_client_still_works();
}

BOOST_AUTO_TEST_CASE(the_256_gib_msgpack_header_is_refused_not_allocated) {
  server_fixture f;
  raw_client raw{f.endpoint};
  raw.hello();
  BOOST_REQUIRE(raw.wait_for(1));
  raw.send_raw(base64_decode("/9///y7byA=="));
  auto bye = raw.wait_for(11);
  BOOST_REQUIRE(bye);
  BOOST_TEST(raw_client::code_of(*bye) == 13);
  f.good_client_still_works();
}

BOOST_AUTO_TEST_CASE(frames_before_hello_and_truncated_batches_end_the_connection) {
  server_fixture f;
  {
    raw_client raw{f.endpoint};
    raw.send_raw(
        raw_client::frame(2, 1, 0, std::string("echo"), std::map<std::string, std::string>{}));
    auto bye = raw.wait_for(11);
    BOOST_REQUIRE(bye);
    BOOST_TEST(raw_client::code_of(*bye) == 13);
    BOOST_TEST(raw_client::message_of(*bye).find("before HELLO") != std::string::npos);
  }
  {
    raw_client raw{f.endpoint};
    raw.hello();
    BOOST_REQUIRE(raw.wait_for(1));
    auto frame = raw_client::data_frame(1, "truncated");
    raw.send_raw(frame.substr(0, frame.size() - 3));
    auto bye = raw.wait_for(11);
    BOOST_REQUIRE(bye);
    BOOST_TEST(raw_client::code_of(*bye) == 13);
  }
  f.good_client_still_works();
}

BOOST_AUTO_TEST_CASE(rule_violations_end_only_their_channel) {
  server_fixture f;
  raw_client raw{f.endpoint};
  raw.hello();
  BOOST_REQUIRE(raw.wait_for(1));
  auto open = [&](std::uint64_t id) {
    return raw_client::frame(2, id, 0, std::string("echo"), std::map<std::string, std::string>{});
  };
  // DATA after END.
  raw.send_raw(open(1) + raw_client::frame(4, 1) + raw_client::data_frame(1, "late"));
  expect_cancel(raw, 1, 13);
  // TRAILERS twice.
  std::map<std::string, std::string> trailers{{"t", "1"}};
  raw.send_raw(open(3) + raw_client::frame(6, 3, trailers) + raw_client::frame(6, 3, trailers));
  expect_cancel(raw, 3, 13);
  // A payload one byte over the server's limit.
  raw.send_raw(open(5) + raw_client::data_frame(5, std::string((4u << 20) + 1, 'x')));
  auto cancel = raw.wait_for(7, 5);
  BOOST_REQUIRE(cancel);
  BOOST_TEST(raw_client::code_of(*cancel) == 8);
  BOOST_TEST(raw_client::message_of(*cancel).find("4194305") != std::string::npos);
  BOOST_TEST(raw_client::message_of(*cancel).find("4194304") != std::string::npos);
  // DATA after TRAILERS, an ERROR carrying status ok, CREDIT past 2^62.
  raw.send_raw(open(7) + raw_client::frame(6, 7, trailers) + raw_client::data_frame(7, "late"));
  expect_cancel(raw, 7, 13);
  raw.send_raw(open(9) + raw_client::frame(5, 9, 0, std::string("fine?")));
  expect_cancel(raw, 9, 13);
  raw.send_raw(open(11) + raw_client::frame(8, 11, std::uint64_t{1} << 63));
  expect_cancel(raw, 11, 13);
  // DATA on a channel never opened.
  raw.send_raw(raw_client::data_frame(99, "nobody"));
  expect_cancel(raw, 99, 13);
  // OPEN with the binding side's parity.
  raw.send_raw(open(8));
  expect_cancel(raw, 8, 13);
  // The same connection still serves a well-behaved channel.
  raw.send_raw(open(101) + raw_client::data_frame(101, "fine"));
  auto echo = raw.wait_for(3, 101);
  BOOST_REQUIRE(echo);
  f.good_client_still_works();
}

BOOST_AUTO_TEST_CASE(hello_with_another_major_version_gets_failed_precondition_at_both_ends) {
  server_fixture f;
  event_log events{f.server};
  raw_client raw{f.endpoint};
  raw.hello("future", 2);
  auto bye = raw.wait_for(11);
  BOOST_REQUIRE(bye);
  BOOST_TEST(raw_client::code_of(*bye) == 9);
  auto rejected = events.wait_for(peer_event::kind::rejected);
  BOOST_REQUIRE(rejected);
  BOOST_TEST(rejected->reason.code == errc::failed_precondition);
  BOOST_TEST(rejected->remote_peer_id == "future");
  BOOST_TEST(f.server.peers().empty());
  f.good_client_still_works();
}

namespace {
int raw_tcp_connect(const std::string& endpoint) {
  auto port = std::stoi(endpoint.substr(endpoint.rfind(':') + 1));
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  BOOST_REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  return fd;
}

// Whether the server closes `fd` within `limit` (reads until EOF, ignoring its greeting).
bool closed_by_server_within(int fd, std::chrono::milliseconds limit) {
  timeval tv{static_cast<time_t>(limit.count() / 1000),
             static_cast<suseconds_t>((limit.count() % 1000) * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buffer[256];
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    auto n = ::read(fd, buffer, sizeof buffer);
    if (n == 0) return true;
    if (n < 0 && errno != EINTR) return errno == ECONNRESET;
  }
  return false;
}
}  // namespace

BOOST_AUTO_TEST_CASE(raw_tcp_garbage_without_zmtp_is_dropped) {
  server_fixture f;
  for (int i = 0; i < 5; ++i) {
    int fd = raw_tcp_connect(f.endpoint);
    std::string junk = "GET / HTTP/1.1\r\n\r\n" + std::string(100, '\xff');
    (void)::write(fd, junk.data(), junk.size());
    ::close(fd);
  }
  f.good_client_still_works();
}

BOOST_AUTO_TEST_CASE(truncated_zmtp_greetings_do_not_hurt_the_server) {
  server_fixture f;
  // A ZMTP 3 greeting starts 0xff, 8 bytes, 0x7f, version 3: send only parts of it.
  const std::string greeting("\xff\0\0\0\0\0\0\0\x01\x7f\x03\x00NULL", 16);
  for (std::size_t cut : {1u, 10u, 11u, 16u}) {
    int fd = raw_tcp_connect(f.endpoint);
    (void)::write(fd, greeting.data(), cut);
    ::close(fd);
  }
  f.good_client_still_works();
}

BOOST_AUTO_TEST_CASE(slow_loris_without_a_greeting_is_dropped_after_the_handshake_interval) {
  runtime rt;
  peer_options options;
  options.handshake_interval = 300ms;
  peer server(rt, options);
  server.handle("echo", echo_handler());
  auto endpoint = *server.bind("tcp://127.0.0.1:0");
  int silent = raw_tcp_connect(endpoint);
  int half = raw_tcp_connect(endpoint);
  (void)::write(half, "\xff\0\0", 3);  // a greeting begun and never finished
  // The bound is the handshake interval plus scheduling slack, not a speed goal.
  BOOST_TEST(closed_by_server_within(silent, 3s));
  BOOST_TEST(closed_by_server_within(half, 3s));
  ::close(silent);
  ::close(half);
  peer client(rt);
  BOOST_REQUIRE(client.connect(endpoint));
  auto ch = client.open("echo");
  BOOST_REQUIRE(ch.write(to_bytes("ping")));
  BOOST_TEST(ch.read(wait_limit).is_message());
}

BOOST_AUTO_TEST_CASE(data_beyond_the_connection_window_ends_the_connection) {
  runtime rt;
  peer_options options;
  options.max_payload = 16 * 1024;
  options.channel_window = 64 * 1024;
  options.connection_window = 128 * 1024;
  options.pending_bytes = 64 * 1024;
  peer server{rt, options};
  server.handle("sink", [](channel ch) { ch.read(wait_limit); });  // reads one, then waits
  auto endpoint = *server.bind("tcp://127.0.0.1:0");
  raw_client raw{endpoint};
  raw.hello();
  auto hello = raw.wait_for(1);
  BOOST_REQUIRE(hello);
  BOOST_TEST(hello->get().via.array.size == 9u);  // announces its connection window
  BOOST_TEST(hello->get().via.array.ptr[8].as<std::uint64_t>() == options.connection_window);
  std::string batch;
  for (std::uint64_t id = 1; id <= 5; id += 2) {
    batch += raw_client::frame(2, id, 0, std::string("sink"), std::map<std::string, std::string>{});
    for (int i = 0; i < 3; ++i) batch += raw_client::data_frame(id, std::string(16 * 1024, 'x'));
  }
  raw.send_raw(batch);  // 3 x 49200 bytes of credit: within each channel, beyond the connection
  auto bye = raw.wait_for(11);
  BOOST_REQUIRE(bye);
  BOOST_TEST(raw_client::code_of(*bye) == 13);
  BOOST_TEST(raw_client::message_of(*bye).find("connection window") != std::string::npos);
}

// Liveness is Duplex's own PING/PONG: a remote whose ZeroMQ side answers ZeroMQ heartbeats but
// whose Duplex side never answers PING is dropped after heartbeat_timeout.
BOOST_AUTO_TEST_CASE(a_connected_remote_that_never_answers_ping_is_dropped) {
  runtime rt;
  peer_options options;
  options.heartbeat_interval = 100ms;
  options.heartbeat_timeout = 400ms;
  peer server(rt, options);
  event_log events(server);
  auto endpoint = *server.bind("tcp://127.0.0.1:0");
  raw_client mute(endpoint);
  mute.hello("mute");
  BOOST_REQUIRE(events.wait_for(peer_event::kind::connected));
  BOOST_TEST(mute.wait_for(9).has_value(), "the server sends PING");
  auto down = events.wait_for(peer_event::kind::disconnected);
  BOOST_REQUIRE(down);
  BOOST_TEST(down->reason.code == errc::unavailable);
  BOOST_TEST(down->reason.message.find("heartbeat") != std::string::npos, down->reason.message);
  BOOST_TEST(server.peers().empty());
}

BOOST_AUTO_TEST_CASE(a_connection_that_fails_its_heartbeats_is_replaced_by_a_new_one) {
  zmq::context_t context;
  zmq::socket_t router(context, zmq::socket_type::router);
  router.set(zmq::sockopt::linger, 0);
  router.bind("tcp://127.0.0.1:0");
  auto endpoint = router.get(zmq::sockopt::last_endpoint);
  runtime rt;
  peer_options options;
  options.heartbeat_interval = 100ms;
  options.heartbeat_timeout = 400ms;
  peer client(rt, options);
  event_log events(client);
  BOOST_REQUIRE(client.connect(endpoint));
  // Answers each HELLO with a HELLO and nothing else: never PONG.
  std::set<std::string> connections;
  auto deadline = std::chrono::steady_clock::now() + 3 * wait_limit;
  router.set(zmq::sockopt::rcvtimeo, 100);
  while (connections.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    zmq::message_t id, body;
    if (!router.recv(id)) continue;
    (void)router.recv(body);
    if (body.size() < 2 || static_cast<const std::uint8_t*>(body.data())[1] != 1) continue;
    connections.insert(id.to_string());
    router.send(id, zmq::send_flags::sndmore);
    router.send(zmq::buffer(raw_client::frame(1, 0, 1, 0, std::string("mute-server"),
                                              "session-" + id.to_string(), 8u << 20, 4u << 20)));
  }
  BOOST_TEST(connections.size() == 2u, "the client connected again after the timeout");
  auto down = events.wait_for(peer_event::kind::disconnected);
  BOOST_REQUIRE(down);
  BOOST_TEST(down->reason.message.find("heartbeat") != std::string::npos, down->reason.message);
}

BOOST_AUTO_TEST_SUITE_END()
