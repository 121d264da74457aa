// Raw methods and raw calls: bytes in the call's codec both ways, as the CLI uses them.
#include <boost/test/unit_test.hpp>

#include "rpc/rpc_support.hpp"

using namespace duplex;
using namespace duplex::testing;

namespace {

rpc::call_options json_call() {
  rpc::call_options o;
  o.timeout = wait_limit;
  o.content_type = json_content_type;
  return o;
}

struct seen_call {
  bytes request;
  std::string codec;
};

// "raw/echo" answers every message with the same bytes; "raw/refuse" fails with out_of_range.
rpc::service raw_service(std::promise<seen_call>& seen) {
  rpc::service s("raw", "Bytes both ways");
  s.raw({"echo", "Echoes every message"},
        [&seen](rpc::call_stream& stream, rpc::call_context&) -> error {
          bool first = true;
          while (true) {
            auto next = stream.read();
            if (!next) return next.error();
            if (!*next) return {};
            if (first) seen.set_value({**next, std::string(stream.payload_codec().content_type())});
            first = false;
            if (auto sent = stream.write(**next); !sent) return sent.error();
          }
        });
  s.raw({"refuse"}, [](rpc::call_stream& stream, rpc::call_context&) -> error {
    (void)stream.read();
    return {errc::out_of_range, "the request is out of range"};
  });
  return s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(raw)

BOOST_AUTO_TEST_CASE(a_raw_method_gets_and_returns_json_bytes_unchanged) {
  std::promise<seen_call> seen;
  rpc_pair pair;
  pair.serve(raw_service(seen));
  const auto request = to_bytes(R"({"text": "héllo", "n": [1, 2, 3]})");
  auto reply = pair.caller().call_raw("raw/echo", request, json_call());
  BOOST_REQUIRE_MESSAGE(reply.ok(), reply.error().to_string());
  BOOST_TEST(to_string(*reply) == to_string(request));
  auto f = seen.get_future();
  BOOST_REQUIRE(f.wait_for(wait_limit) == std::future_status::ready);
  auto call = f.get();
  BOOST_TEST(to_string(call.request) == to_string(request));
  BOOST_TEST(call.codec == json_content_type);
}

BOOST_AUTO_TEST_CASE(a_raw_method_streams_both_ways) {
  std::promise<seen_call> seen;
  rpc_pair pair;
  pair.serve(raw_service(seen));
  auto stream = pair.caller().open_call("raw/echo", json_call());
  for (int i = 0; i < 10; ++i) {
    auto message = to_bytes("[" + std::to_string(i) + "]");
    BOOST_REQUIRE(stream.write(message).ok());
    auto back = stream.read();
    BOOST_REQUIRE_MESSAGE(back.ok(), back.error().to_string());
    BOOST_REQUIRE(back->has_value());
    BOOST_TEST(to_string(**back) == to_string(message));
  }
  BOOST_REQUIRE(stream.close_write().ok());
  auto end = stream.read();
  BOOST_REQUIRE_MESSAGE(end.ok(), end.error().to_string());
  BOOST_TEST(!end->has_value());
}

BOOST_AUTO_TEST_CASE(a_raw_methods_error_is_the_calls_status) {
  std::promise<seen_call> seen;
  rpc_pair pair;
  pair.serve(raw_service(seen));
  auto reply = pair.caller().call_raw("raw/refuse", to_bytes("{}"), json_call());
  BOOST_TEST(reply.code() == errc::out_of_range);
  BOOST_TEST(reply.error().message == "the request is out of range");
}

BOOST_AUTO_TEST_CASE(a_raw_json_call_reaches_a_typed_method) {
  rpc_pair pair;
  pair.serve(calc_service());
  auto reply = pair.caller().call_raw("calc/add", to_bytes(R"({"a": 2, "b": 40})"), json_call());
  BOOST_REQUIRE_MESSAGE(reply.ok(), reply.error().to_string());
  BOOST_TEST(to_string(*reply) == R"({"sum":42})");

  // Bytes the typed method cannot decode are the caller's fault.
  auto not_json = pair.caller().call_raw("calc/add", to_bytes("{not json"), json_call());
  BOOST_TEST(not_json.code() == errc::invalid_argument);
  auto wrong_shape = pair.caller().call_raw("calc/add", to_bytes(R"({"a": "two"})"), json_call());
  BOOST_TEST(wrong_shape.code() == errc::invalid_argument);
  // The method still serves well-formed calls.
  auto again = pair.caller().call_raw("calc/add", to_bytes(R"({"a": 1, "b": 1})"), json_call());
  BOOST_REQUIRE_MESSAGE(again.ok(), again.error().to_string());
  BOOST_TEST(to_string(*again) == R"({"sum":2})");
}

BOOST_AUTO_TEST_SUITE_END()
