// Limits and bad input from the application: payload size, endpoints, options.
#include <boost/test/unit_test.hpp>

#include "support.hpp"

using namespace duplex;
using namespace duplex::testing;

namespace {
struct point {
  int x = 0;
  std::string label;
  MSGPACK_DEFINE_MAP(x, label)
};
}  // namespace

BOOST_AUTO_TEST_SUITE(limits)

BOOST_AUTO_TEST_CASE(max_payload_passes_and_one_byte_more_is_refused_naming_both_sizes) {
  runtime rt;
  peer_options options;
  options.max_payload = 64 * 1024;
  options.channel_window = 256 * 1024;
  options.pending_bytes = 1 << 20;
  peer server{rt, options};
  server.handle("size", [](channel ch) {
    while (auto msg = ch.read(wait_limit)) ch.write(to_bytes(std::to_string(msg->size())));
    ch.close_write();
  });
  peer client{rt, options};
  BOOST_REQUIRE(client.connect(*server.bind("tcp://127.0.0.1:0")));
  auto ch = client.open("size");
  BOOST_REQUIRE(ch.write(make_payload(options.max_payload)));
  BOOST_TEST(to_string(*ch.read(wait_limit)) == std::to_string(options.max_payload));
  auto refused = ch.write(make_payload(options.max_payload + 1));
  BOOST_TEST(refused.code() == errc::resource_exhausted);
  BOOST_TEST(refused.error().message.find(std::to_string(options.max_payload + 1)) !=
             std::string::npos);
  BOOST_TEST(refused.error().message.find(std::to_string(options.max_payload)) !=
             std::string::npos);
  BOOST_TEST(ch.try_write(make_payload(options.max_payload + 1)).code() ==
             errc::resource_exhausted);
  // The channel and the connection carry on.
  BOOST_REQUIRE(ch.write(to_bytes("abc")));
  BOOST_TEST(to_string(*ch.read(wait_limit)) == "3");
}

BOOST_AUTO_TEST_CASE(receiver_refuses_payloads_above_its_own_limit) {
  runtime rt;
  peer_options small;
  small.max_payload = 1024;
  small.channel_window = 64 * 1024;
  small.pending_bytes = 64 * 1024;
  peer server{rt, small};
  std::promise<error> server_saw;
  server.handle("small", [&](channel ch) { server_saw.set_value(ch.read(wait_limit).error()); });
  peer client{rt};  // the default, larger limit
  BOOST_REQUIRE(client.connect(*server.bind("tcp://127.0.0.1:0")));
  auto ch = client.open("small");
  BOOST_REQUIRE(ch.write(make_payload(2000)));  // the sender learns the remote limit on sending
  auto r = ch.read(wait_limit);
  BOOST_TEST(r.error().code == errc::resource_exhausted);
  BOOST_TEST(r.error().message.find("2000") != std::string::npos);
  BOOST_TEST(r.error().message.find("1024") != std::string::npos);
  // A fresh channel on the same connection works.
  server.handle("echo", echo_handler());
  auto ok = client.open("echo");
  BOOST_REQUIRE(ok.write(to_bytes("still here")));
  BOOST_TEST(to_string(*ok.read(wait_limit)) == "still here");
}

BOOST_AUTO_TEST_CASE(bad_endpoints_are_invalid_argument) {
  runtime rt;
  peer p{rt};
  for (std::string bad :
       {"", "tcp://", "nonsense", "tcp//127.0.0.1:1", "udp://127.0.0.1:5555",
        "tcp://127.0.0.1:99999", "tcp://127.0.0.1:notaport", "ipc://", "inproc://", "pgm://x"}) {
    BOOST_TEST_CONTEXT("'" << bad << "'") {
      BOOST_TEST(p.bind(bad).code() == errc::invalid_argument);
      BOOST_TEST(p.connect(bad).code() == errc::invalid_argument);
    }
  }
  BOOST_TEST(p.unbind("tcp://127.0.0.1:1").code() == errc::not_found);
  BOOST_TEST(p.disconnect("tcp://127.0.0.1:1").code() == errc::not_found);
}

BOOST_AUTO_TEST_CASE(bind_port_zero_reports_the_chosen_port_and_unbind_releases_it) {
  runtime rt;
  peer p{rt};
  auto bound = p.bind("tcp://127.0.0.1:0");
  BOOST_REQUIRE(bound);
  BOOST_TEST(bound->rfind("tcp://127.0.0.1:", 0) == 0u);
  BOOST_TEST(bound->substr(16) != "0");
  BOOST_TEST(p.bind(*bound).code() == errc::already_exists);  // in use
  BOOST_REQUIRE(p.unbind(*bound));
  // libzmq closes the listener on its I/O thread, so the port is free soon after, not at once.
  peer other{rt};
  BOOST_TEST(eventually([&] { return other.bind(*bound).ok(); }));
}

BOOST_AUTO_TEST_CASE(invalid_options_are_invalid_argument) {
  runtime rt;
  auto expect_invalid = [&](peer_options o, const char* what) {
    BOOST_TEST_CONTEXT(what) {
      BOOST_TEST(o.validate().code() == errc::invalid_argument);
      try {
        peer p{rt, o};
        BOOST_ERROR("constructing a peer with invalid options must throw");
      } catch (const duplex::exception& e) {
        BOOST_TEST(e.error().code == errc::invalid_argument);
      }
    }
  };
  peer_options o;
  BOOST_TEST(o.validate().ok());
  o = {};
  o.max_payload = 0;
  expect_invalid(o, "max_payload 0");
  o = {};
  o.channel_window = o.max_payload;
  expect_invalid(o, "window below one message");
  o = {};
  o.pending_messages = 0;
  expect_invalid(o, "pending_messages 0");
  o = {};
  o.pending_bytes = 10;
  expect_invalid(o, "pending_bytes too small");
  o = {};
  o.handler_threads = 0;
  expect_invalid(o, "no handler threads");
  o = {};
  o.heartbeat_timeout = o.heartbeat_interval / 2;
  expect_invalid(o, "timeout < interval");
  o = {};
  o.reconnect_interval_max = o.reconnect_interval / 2;
  expect_invalid(o, "max < interval");
  o = {};
  o.linger = milliseconds{-1};
  expect_invalid(o, "negative linger");
  o = {};
  o.max_channels_per_remote = 0;
  expect_invalid(o, "no channels");
  runtime_options r;
  r.io_threads = 0;
  BOOST_TEST(r.validate().code() == errc::invalid_argument);
}

BOOST_AUTO_TEST_CASE(unsupported_content_type_is_invalid_argument_not_garbage) {
  runtime rt;
  peer server{rt};
  server.handle("typed", echo_handler());
  peer client{rt};
  BOOST_REQUIRE(client.connect(*server.bind("tcp://127.0.0.1:0")));
  auto bad = client.open("typed", {{content_type_header, "application/x-unknown"}});
  BOOST_TEST(bad.read(wait_limit).error().code == errc::invalid_argument);

  auto json = client.open("typed", {{content_type_header, json_content_type}});
  BOOST_REQUIRE(json.write_as(point{3, "three"}));
  auto back = json.read_as<point>(wait_limit);
  BOOST_REQUIRE_MESSAGE(back, back.error().to_string());
  BOOST_REQUIRE(back->has_value());
  BOOST_TEST((*back)->x == 3);
  BOOST_TEST((*back)->label == "three");
  // Raw bytes that are not JSON do not decode as a point.
  BOOST_REQUIRE(json.write(to_bytes("{not json")));
  BOOST_TEST(json.read_as<point>(wait_limit).code() == errc::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()
