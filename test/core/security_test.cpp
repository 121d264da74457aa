// CURVE security: encryption with an allow-list enforced by Duplex's own ZAP handler, failing
// closed. A refused client gets a typed error quickly and never reaches a handler; handlers see
// the caller's authenticated key.
#include <boost/test/unit_test.hpp>

#include <msgpack.hpp>
#include <zmq.hpp>

#include <filesystem>
#include <fstream>

#include "support.hpp"
#include "transport/zap_handler.hpp"

using namespace duplex;
using namespace duplex::testing;

namespace {

// A CURVE server with an echo service that counts the channels reaching it.
struct curve_server {
  runtime rt;
  curve_keypair server_keys = curve_keypair::generate();
  curve_keypair client_keys = curve_keypair::generate();
  std::atomic<int> handled{0};
  std::string seen_key;
  std::mutex seen_mutex;
  std::unique_ptr<peer> server;
  std::string endpoint;

  explicit curve_server(const std::string& bind_to = "tcp://127.0.0.1:0", bool allow_any = false) {
    peer_options options;
    options.security.curve = server_keys;
    options.security.allowed_keys = {client_keys.public_key};
    options.security.allow_any_key = allow_any;
    server = std::make_unique<peer>(rt, options);
    server->handle("echo", [this](channel ch) {
      ++handled;
      {
        std::lock_guard<std::mutex> lock(seen_mutex);
        seen_key = ch.meta().remote_key;
      }
      echo_handler()(std::move(ch));
    });
    endpoint = *server->bind(bind_to);
  }

  peer_options client_options(const curve_keypair& keys) const {
    peer_options options;
    options.security.curve = keys;
    options.security.server_key = server_keys.public_key;
    return options;
  }
};

// Opens an echo channel and returns how its first round trip ended.
error round_trip(peer& client) {
  auto ch = client.open("echo");
  if (auto w = ch.write(to_bytes("hello")); !w) return w.error();
  auto r = ch.read(wait_limit);
  if (r.is_message()) return {};
  return r.is_error() ? r.error() : error{errc::internal, "no message"};
}

bool refused(const error& e) {
  return e.code == errc::unauthenticated || e.code == errc::unavailable;
}

// Watches a raw socket's handshake through its monitor.
class handshake_watch {
 public:
  handshake_watch(zmq::context_t& context, zmq::socket_t& socket) {
    static int counter = 0;
    auto address = "inproc://handshake-watch-" + std::to_string(++counter);
    zmq_socket_monitor(socket.handle(), address.c_str(),
                       ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                           ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    monitor_ = zmq::socket_t(context, zmq::socket_type::pair);
    monitor_.set(zmq::sockopt::linger, 0);
    monitor_.connect(address);
  }

  // The first handshake event, or 0 when none came within the limit.
  std::uint16_t next_event() {
    monitor_.set(zmq::sockopt::rcvtimeo, static_cast<int>(wait_limit.count()));
    zmq::message_t event;
    if (!monitor_.recv(event)) return 0;
    zmq::message_t address;
    if (event.more()) (void)monitor_.recv(address);
    std::uint16_t id;
    std::memcpy(&id, event.data(), sizeof id);
    return id;
  }

 private:
  zmq::socket_t monitor_;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(security)

BOOST_AUTO_TEST_CASE(allowed_client_key_connects_and_both_sides_see_the_authenticated_keys) {
  for (auto endpoint : {std::string("tcp://127.0.0.1:0"), bind_endpoints("curve")[1]}) {
    BOOST_TEST_CONTEXT(endpoint) {
      curve_server f(endpoint);
      peer client(f.rt, f.client_options(f.client_keys));
      BOOST_REQUIRE(client.connect(f.endpoint));
      auto ch = client.open("echo");
      BOOST_REQUIRE(ch.write(to_bytes("secret")));
      auto r = ch.read(wait_limit);
      BOOST_REQUIRE_MESSAGE(r.is_message(), r.error().to_string());
      BOOST_TEST(to_string(r.payload()) == "secret");
      BOOST_TEST(ch.meta().remote_key == f.server_keys.public_key);
      std::lock_guard<std::mutex> lock(f.seen_mutex);
      BOOST_TEST(f.seen_key == f.client_keys.public_key);
    }
  }
}

BOOST_AUTO_TEST_CASE(unknown_client_key_is_refused_before_any_handler_runs) {
  curve_server f;
  peer stranger(f.rt, f.client_options(curve_keypair::generate()));
  event_log events(stranger);
  BOOST_REQUIRE(stranger.connect(f.endpoint));
  auto e = round_trip(stranger);
  BOOST_TEST(e.code == errc::unauthenticated, e.to_string());
  BOOST_TEST(e.message.find("refused this peer's key") != std::string::npos, e.message);
  BOOST_TEST(f.handled == 0);
  BOOST_TEST(stranger.peers().empty());
}

BOOST_AUTO_TEST_CASE(wrong_server_key_never_connects) {
  curve_server f;
  auto options = f.client_options(f.client_keys);
  options.security.server_key = curve_keypair::generate().public_key;
  peer client(f.rt, options);
  BOOST_REQUIRE(client.connect(f.endpoint));
  auto e = round_trip(client);
  BOOST_TEST(refused(e), e.to_string());
  BOOST_TEST(f.handled == 0);
}

BOOST_AUTO_TEST_CASE(client_without_curve_is_refused) {
  curve_server f;
  peer plain(f.rt);
  BOOST_REQUIRE(plain.connect(f.endpoint));
  auto e = round_trip(plain);
  BOOST_TEST(e.code == errc::unauthenticated, e.to_string());
  BOOST_TEST(f.handled == 0);
}

BOOST_AUTO_TEST_CASE(raw_null_and_plain_clients_fail_their_handshake) {
  curve_server f;
  zmq::context_t context;
  for (bool plain : {false, true}) {
    BOOST_TEST_CONTEXT((plain ? "PLAIN" : "NULL")) {
      zmq::socket_t dealer(context, zmq::socket_type::dealer);
      dealer.set(zmq::sockopt::linger, 0);
      if (plain) {
        dealer.set(zmq::sockopt::plain_username, "admin");
        dealer.set(zmq::sockopt::plain_password, "admin");
      }
      handshake_watch watch(context, dealer);
      dealer.connect(f.endpoint);
      dealer.send(zmq::str_buffer("not a HELLO"), zmq::send_flags::dontwait);
      auto event = watch.next_event();
      BOOST_TEST(event != ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
      BOOST_TEST(event != 0, "no handshake event within the limit");
    }
  }
  BOOST_TEST(f.handled == 0);
  peer good(f.rt, f.client_options(f.client_keys));
  BOOST_REQUIRE(good.connect(f.endpoint));
  BOOST_TEST(round_trip(good).ok());
}

BOOST_AUTO_TEST_CASE(curve_server_socket_without_a_zap_handler_refuses_every_client) {
  // A ZeroMQ context of its own has no ZAP handler: Duplex's server options must fail closed.
  zmq::context_t context;
  auto server_keys = curve_keypair::generate();
  auto client_keys = curve_keypair::generate();
  zmq::socket_t router(context, zmq::socket_type::router);
  router.set(zmq::sockopt::linger, 0);
  detail::curve_server_options(router, server_keys, "duplex-test");
  router.bind("tcp://127.0.0.1:0");
  auto endpoint = router.get(zmq::sockopt::last_endpoint);

  zmq::socket_t dealer(context, zmq::socket_type::dealer);
  dealer.set(zmq::sockopt::linger, 0);
  detail::curve_client_options(dealer, client_keys, server_keys.public_key);
  handshake_watch watch(context, dealer);
  dealer.connect(endpoint);
  auto event = watch.next_event();
  BOOST_TEST(event != ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
  BOOST_TEST(event != 0, "no handshake event within the limit");
}

BOOST_AUTO_TEST_CASE(allow_any_key_admits_every_curve_client_and_still_encrypts) {
  curve_server f("tcp://127.0.0.1:0", /*allow_any=*/true);
  auto someone = curve_keypair::generate();
  peer client(f.rt, f.client_options(someone));
  BOOST_REQUIRE(client.connect(f.endpoint));
  BOOST_TEST(round_trip(client).ok());
  std::lock_guard<std::mutex> lock(f.seen_mutex);
  BOOST_TEST(f.seen_key == someone.public_key);
}

BOOST_AUTO_TEST_CASE(idle_curve_connection_stays_up_across_many_heartbeats) {
  curve_server f;
  auto options = f.client_options(f.client_keys);
  options.heartbeat_interval = 50ms;
  options.heartbeat_timeout = 200ms;
  peer client(f.rt, options);
  event_log events(client);
  BOOST_REQUIRE(client.connect(f.endpoint));
  BOOST_REQUIRE(round_trip(client).ok());
  std::this_thread::sleep_for(1s);  // 20 heartbeat intervals of silence from the application
  BOOST_TEST(events.count(peer_event::kind::disconnected) == 0);
  BOOST_TEST(round_trip(client).ok());
}

BOOST_AUTO_TEST_CASE(key_files_round_trip_and_bad_keys_are_typed_errors) {
  auto dir = std::filesystem::temp_directory_path() / ("duplex-keys-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto keys = curve_keypair::generate();
  auto path = (dir / "server").string();
  BOOST_REQUIRE(keys.save(path));
  auto secret_mode = std::filesystem::status(path + "_secret").permissions();
  BOOST_TEST(((secret_mode & std::filesystem::perms::others_read) == std::filesystem::perms::none));
  auto loaded = curve_keypair::load(path);
  BOOST_REQUIRE(loaded);
  BOOST_TEST(loaded->public_key == keys.public_key);
  BOOST_TEST(loaded->secret_key == keys.secret_key);
  BOOST_TEST(*load_public_key(path) == keys.public_key);
  BOOST_TEST(*load_public_key(keys.public_key) == keys.public_key);
  auto other = curve_keypair::generate();
  BOOST_REQUIRE(other.save((dir / "client").string()));
  auto all = load_public_keys(dir.string());
  BOOST_REQUIRE(all);
  BOOST_TEST(all->size() == 2u);

  BOOST_TEST(curve_keypair::load((dir / "missing").string()).error().code == errc::not_found);
  std::filesystem::remove(path + "_secret");
  BOOST_TEST(curve_keypair::load(path).error().code == errc::invalid_argument);
  std::ofstream((dir / "junk").string()) << "not a certificate\n";
  BOOST_TEST(load_public_key((dir / "junk").string()).error().code == errc::invalid_argument);
  BOOST_TEST(load_public_key("short").error().code == errc::not_found);

  peer_options bad;
  bad.security.curve = curve_keypair{keys.public_key, other.secret_key};
  BOOST_TEST(bad.validate().error().code == errc::invalid_argument);
  bad.security.curve = curve_keypair{"tooshort", keys.secret_key};
  BOOST_TEST(bad.validate().error().code == errc::invalid_argument);
  peer_options list_without_keys;
  list_without_keys.security.allowed_keys = {keys.public_key};
  BOOST_TEST(list_without_keys.validate().error().code == errc::invalid_argument);
  std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(connect_without_the_server_key_is_invalid_argument) {
  runtime rt;
  peer_options options;
  options.security.curve = curve_keypair::generate();
  peer client(rt, options);
  BOOST_TEST(client.connect("tcp://127.0.0.1:1").error().code == errc::invalid_argument);
  BOOST_TEST(client.connect("tcp://127.0.0.1:1", {"not-z85"}).error().code ==
             errc::invalid_argument);
  peer plain(rt);
  BOOST_TEST(
      plain.connect("tcp://127.0.0.1:1", {curve_keypair::generate().public_key}).error().code ==
      errc::invalid_argument);
}

// A CURVE remote that completes the handshake and HELLO, then falls silent (its ZeroMQ side
// still answers ZeroMQ heartbeats) is detected by Duplex's heartbeats all the same.
BOOST_AUTO_TEST_CASE(a_silent_curve_remote_is_detected_by_heartbeats) {
  zmq::context_t context;  // no ZAP handler: a plain CURVE server admits any client key
  auto server_keys = curve_keypair::generate();
  zmq::socket_t router(context, zmq::socket_type::router);
  router.set(zmq::sockopt::linger, 0);
  router.set(zmq::sockopt::curve_server, 1);
  router.set(zmq::sockopt::curve_secretkey, server_keys.secret_key);
  router.bind("tcp://127.0.0.1:0");
  auto endpoint = router.get(zmq::sockopt::last_endpoint);

  runtime rt;
  peer_options options;
  options.security.curve = curve_keypair::generate();
  options.heartbeat_interval = 100ms;
  options.heartbeat_timeout = 400ms;
  peer client(rt, options);
  event_log events(client);
  BOOST_REQUIRE(client.connect(endpoint, {server_keys.public_key}));
  router.set(zmq::sockopt::rcvtimeo, static_cast<int>(wait_limit.count()));
  zmq::message_t id, hello;
  BOOST_REQUIRE(router.recv(id));
  BOOST_REQUIRE(router.recv(hello));
  msgpack::sbuffer reply;
  msgpack::pack(reply, std::make_tuple(1, 0, 1, 0, std::string("silent"), std::string("s1"),
                                       8u << 20, 4u << 20));
  router.send(id, zmq::send_flags::sndmore);
  router.send(zmq::buffer(reply.data(), reply.size()));
  BOOST_REQUIRE(events.wait_for(peer_event::kind::connected));
  auto down = events.wait_for(peer_event::kind::disconnected);
  BOOST_REQUIRE(down);
  BOOST_TEST(down->reason.code == errc::unavailable);
  BOOST_TEST(down->reason.message.find("heartbeat") != std::string::npos, down->reason.message);
}

BOOST_AUTO_TEST_SUITE_END()
