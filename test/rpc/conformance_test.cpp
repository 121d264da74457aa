// Conformance: the interoperability cases of gRPC's interop suite, as Duplex RPC meets them
// (empty and large unary, the three streaming shapes, ping-pong, metadata, status codes,
// unimplemented names, cancellation, deadlines, callbacks, both directions on one connection,
// fire-and-forget and codec negotiation).
#include <boost/test/unit_test.hpp>

#include "rpc/rpc_support.hpp"

using namespace duplex;
using namespace duplex::testing;

namespace {

constexpr std::uint8_t request_seed = 3;
constexpr std::uint8_t response_seed = 7;

// A request carrying a body and asking for a response body of `response_size` bytes.
struct payload_request {
  std::uint32_t response_size = 0;
  std::vector<std::uint8_t> body;
  MSGPACK_DEFINE_MAP(response_size, body)
};

struct streaming_request {
  std::vector<std::uint32_t> response_sizes;
  MSGPACK_DEFINE_MAP(response_sizes)
};

struct aggregate_reply {
  std::uint64_t aggregated_size = 0;
  MSGPACK_DEFINE_MAP(aggregated_size)
};

struct status_request {
  std::uint32_t code = 0;
  std::string message;
  MSGPACK_DEFINE_MAP(code, message)
};

// A sum and a word about the call that produced it (who served it, which codec, ...).
struct tagged_reply {
  int sum = 0;
  std::string tag;
  MSGPACK_DEFINE_MAP(sum, tag)
};

const std::string initial_key = "x-echo-initial";
const std::string trailing_key = "x-echo-trailing-bin";

// Copies the echo headers of the request into the call's trailers.
void echo_metadata(rpc::call_context& ctx) {
  for (const auto& key : {initial_key, trailing_key}) {
    auto it = ctx.headers().find(key);
    if (it != ctx.headers().end()) ctx.set_trailer(key, it->second);
  }
}

error check_body(const std::vector<std::uint8_t>& body) {
  if (body != make_payload(body.size(), request_seed))
    return {errc::invalid_argument,
            "request body of " + std::to_string(body.size()) + " bytes is corrupted"};
  return {};
}

// Answers one payload_request after another with a body of the size it asks for.
result<void> full_duplex(rpc::reader<payload_request>& in, rpc::writer<blob>& out) {
  while (true) {
    auto next = in.read();
    if (!next) return next.error();
    if (!*next) return {};
    if (auto bad = check_body((*next)->body); !bad.ok()) return bad;
    if (auto sent = out.write(blob{make_payload((*next)->response_size, response_seed)}); !sent)
      return sent;
  }
}

// The methods of gRPC's TestService, in Duplex's shapes.
rpc::service interop_service() {
  rpc::service s("interop", "Interoperability test methods", "1.0.0");
  s.unary<rpc::empty_message, rpc::empty_message>(
      {"empty"}, [](const rpc::empty_message&, rpc::call_context&) -> result<rpc::empty_message> {
        return rpc::empty_message{};
      });
  s.unary<payload_request, blob>(
      {"large"}, [](const payload_request& r, rpc::call_context& ctx) -> result<blob> {
        echo_metadata(ctx);
        if (auto bad = check_body(r.body); !bad.ok()) return bad;
        return blob{make_payload(r.response_size, response_seed)};
      });
  s.client_stream<blob, aggregate_reply>(
      {"aggregate"}, [](rpc::reader<blob>& in, rpc::call_context&) -> result<aggregate_reply> {
        aggregate_reply out;
        while (true) {
          auto next = in.read();
          if (!next) return next.error();
          if (!*next) return out;
          if (auto bad = check_body((*next)->body); !bad.ok()) return bad;
          out.aggregated_size += (*next)->body.size();
        }
      });
  s.server_stream<streaming_request, blob>(
      {"stream"},
      [](const streaming_request& r, rpc::writer<blob>& out, rpc::call_context&) -> result<void> {
        for (auto size : r.response_sizes)
          if (auto sent = out.write(blob{make_payload(size, response_seed)}); !sent) return sent;
        return {};
      });
  s.bidi<payload_request, blob>({"full_duplex"},
                                [](rpc::reader<payload_request>& in, rpc::writer<blob>& out,
                                   rpc::call_context& ctx) -> result<void> {
                                  echo_metadata(ctx);
                                  return full_duplex(in, out);
                                });
  s.unary<status_request, rpc::empty_message>(
      {"status"}, [](const status_request& r, rpc::call_context&) -> result<rpc::empty_message> {
        return error{static_cast<errc>(r.code), r.message};
      });
  s.bidi<status_request, rpc::empty_message>(
      {"status_stream"},
      [](rpc::reader<status_request>& in, rpc::writer<rpc::empty_message>&,
         rpc::call_context&) -> result<void> {
        auto first = in.read();
        if (!first) return first.error();
        if (!*first) return error{errc::invalid_argument, "no status asked for"};
        return error{static_cast<errc>((*first)->code), (*first)->message};
      });
  return s;
}

template <class T>
bool ready(std::future<T>& f) {
  return f.wait_for(wait_limit) == std::future_status::ready;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(conformance)

BOOST_AUTO_TEST_CASE(empty_unary_answers_an_empty_message) {
  rpc_pair pair;
  pair.serve(interop_service());
  auto typed =
      pair.caller().call<rpc::empty_message>("interop/empty", rpc::empty_message{}, within());
  BOOST_REQUIRE_MESSAGE(typed.ok(), typed.error().to_string());
  // On the wire both messages are an empty msgpack map.
  auto raw = pair.caller().call_raw("interop/empty", bytes{0x80}, within());
  BOOST_REQUIRE_MESSAGE(raw.ok(), raw.error().to_string());
  BOOST_TEST((*raw == bytes{0x80}));
}

BOOST_AUTO_TEST_CASE(large_unary_carries_both_bodies_intact) {
  rpc_pair pair;
  pair.serve(interop_service());
  payload_request request{314159, make_payload(271828, request_seed)};
  auto reply = pair.caller().call<blob>("interop/large", request, within());
  BOOST_REQUIRE_MESSAGE(reply.ok(), reply.error().to_string());
  BOOST_TEST(reply->body.size() == 314159u);
  BOOST_TEST((reply->body == make_payload(314159, response_seed)));
}

BOOST_AUTO_TEST_CASE(client_streaming_aggregates_every_request) {
  rpc_pair pair;
  pair.serve(interop_service());
  auto call = pair.caller().client_stream<blob, aggregate_reply>("interop/aggregate", within());
  for (std::size_t size : {27182u, 8u, 1828u, 45904u}) {
    auto sent = call.write(blob{make_payload(size, request_seed)});
    BOOST_REQUIRE_MESSAGE(sent.ok(), sent.error().to_string());
  }
  auto reply = call.finish();
  BOOST_REQUIRE_MESSAGE(reply.ok(), reply.error().to_string());
  BOOST_TEST(reply->aggregated_size == 74922u);
}

BOOST_AUTO_TEST_CASE(server_streaming_delivers_every_response_in_order) {
  rpc_pair pair;
  pair.serve(interop_service());
  const std::vector<std::uint32_t> sizes{31415, 9, 2653, 58979};
  auto call =
      pair.caller().server_stream<blob>("interop/stream", streaming_request{sizes}, within());
  for (auto size : sizes) {
    auto next = call.read();
    BOOST_REQUIRE_MESSAGE(next.ok(), next.error().to_string());
    BOOST_REQUIRE(next->has_value());
    BOOST_TEST((*next)->body.size() == size);
    BOOST_TEST(((*next)->body == make_payload(size, response_seed)));
  }
  auto end = call.read();
  BOOST_REQUIRE_MESSAGE(end.ok(), end.error().to_string());
  BOOST_TEST(!end->has_value());
}

BOOST_AUTO_TEST_CASE(ping_pong_alternates_requests_and_responses_on_one_stream) {
  rpc_pair pair;
  pair.serve(interop_service());
  const std::vector<std::uint32_t> request_sizes{27182, 8, 1828, 45904};
  const std::vector<std::uint32_t> response_sizes{31415, 9, 2653, 58979};
  auto call = pair.caller().bidi<payload_request, blob>("interop/full_duplex", within());
  for (std::size_t i = 0; i < request_sizes.size(); ++i) {
    auto sent = call.write(
        payload_request{response_sizes[i], make_payload(request_sizes[i], request_seed)});
    BOOST_REQUIRE_MESSAGE(sent.ok(), sent.error().to_string());
    auto next = call.read();
    BOOST_REQUIRE_MESSAGE(next.ok(), next.error().to_string());
    BOOST_REQUIRE(next->has_value());
    BOOST_TEST((*next)->body.size() == response_sizes[i]);
    BOOST_TEST(((*next)->body == make_payload(response_sizes[i], response_seed)));
  }
  BOOST_REQUIRE(call.close_write().ok());
  auto end = call.read();
  BOOST_REQUIRE_MESSAGE(end.ok(), end.error().to_string());
  BOOST_TEST(!end->has_value());
}

BOOST_AUTO_TEST_CASE(empty_stream_ends_ok_with_no_message_either_way) {
  std::promise<std::size_t> requests_seen;
  rpc_pair pair;
  rpc::service s("empty");
  s.bidi<blob, blob>(
      {"stream"},
      [&](rpc::reader<blob>& in, rpc::writer<blob>&, rpc::call_context&) -> result<void> {
        std::size_t seen = 0;
        while (true) {
          auto next = in.read();
          if (!next) return next.error();
          if (!*next) break;
          ++seen;
        }
        requests_seen.set_value(seen);
        return {};
      });
  pair.serve(std::move(s));
  auto call = pair.caller().bidi<blob, blob>("empty/stream", within());
  BOOST_REQUIRE(call.close_write().ok());
  auto end = call.read();
  BOOST_REQUIRE_MESSAGE(end.ok(), end.error().to_string());
  BOOST_TEST(!end->has_value());
  auto seen = requests_seen.get_future();
  BOOST_REQUIRE(ready(seen));
  BOOST_TEST(seen.get() == 0u);
}

BOOST_AUTO_TEST_CASE(custom_metadata_is_echoed_in_trailers_on_unary_and_bidi) {
  rpc_pair pair;
  pair.serve(interop_service());
  const std::string binary_value("\xab\xab\xab", 3);
  auto options = within();
  options.headers = {{initial_key, "test_initial_metadata_value"}, {trailing_key, binary_value}};

  // Unary, on the raw stream to read the trailers after the response.
  auto unary = pair.caller().open_call("interop/large", options);
  BOOST_REQUIRE(unary.write_as(payload_request{314159, make_payload(271828, request_seed)}).ok());
  BOOST_REQUIRE(unary.close_write().ok());
  auto response = unary.read_as<blob>();
  BOOST_REQUIRE_MESSAGE(response.ok(), response.error().to_string());
  BOOST_REQUIRE(response->has_value());
  BOOST_TEST((*response)->body.size() == 314159u);
  auto end = unary.read();
  BOOST_REQUIRE_MESSAGE(end.ok(), end.error().to_string());
  BOOST_TEST(!end->has_value());
  auto trailers = unary.trailers();
  BOOST_TEST(trailers[initial_key] == "test_initial_metadata_value");
  BOOST_TEST(trailers[trailing_key] == binary_value);

  // Bidi.
  auto bidi = pair.caller().bidi<payload_request, blob>("interop/full_duplex", options);
  BOOST_REQUIRE(bidi.write(payload_request{31415, make_payload(27182, request_seed)}).ok());
  auto next = bidi.read();
  BOOST_REQUIRE_MESSAGE(next.ok(), next.error().to_string());
  BOOST_REQUIRE(next->has_value());
  BOOST_TEST((*next)->body.size() == 31415u);
  BOOST_REQUIRE(bidi.close_write().ok());
  auto bidi_end = bidi.read();
  BOOST_REQUIRE_MESSAGE(bidi_end.ok(), bidi_end.error().to_string());
  BOOST_TEST(!bidi_end->has_value());
  auto bidi_trailers = bidi.trailers();
  BOOST_TEST(bidi_trailers[initial_key] == "test_initial_metadata_value");
  BOOST_TEST(bidi_trailers[trailing_key] == binary_value);
}

BOOST_AUTO_TEST_CASE(status_code_and_message_reach_the_caller_on_unary_and_bidi) {
  rpc_pair pair;
  pair.serve(interop_service());
  auto unary = pair.caller().call<rpc::empty_message>(
      "interop/status", status_request{2, "test status message"}, within());
  BOOST_TEST(unary.code() == errc::unknown);
  BOOST_TEST(unary.error().message == "test status message");

  auto bidi =
      pair.caller().bidi<status_request, rpc::empty_message>("interop/status_stream", within());
  BOOST_REQUIRE(bidi.write(status_request{2, "test status message"}).ok());
  BOOST_REQUIRE(bidi.close_write().ok());
  auto status = bidi.read();
  BOOST_TEST(status.code() == errc::unknown);
  BOOST_TEST(status.error().message == "test status message");

  // Every code other than ok arrives as itself.
  for (std::uint32_t code = 1; code <= 16; ++code) {
    auto r = pair.caller().call<rpc::empty_message>(
        "interop/status", status_request{code, "code " + std::to_string(code)}, within());
    BOOST_TEST(static_cast<std::uint32_t>(r.code()) == code);
    BOOST_TEST(r.error().message == "code " + std::to_string(code));
  }
}

BOOST_AUTO_TEST_CASE(special_status_message_arrives_unchanged) {
  rpc_pair pair;
  pair.serve(interop_service());
  const std::string special = "\t\n\r ☺ 😈";
  auto unary = pair.caller().call<rpc::empty_message>("interop/status", status_request{2, special},
                                                      within());
  BOOST_TEST(unary.code() == errc::unknown);
  BOOST_TEST(unary.error().message == special);

  auto bidi =
      pair.caller().bidi<status_request, rpc::empty_message>("interop/status_stream", within());
  BOOST_REQUIRE(bidi.write(status_request{2, special}).ok());
  auto status = bidi.read();
  BOOST_TEST(status.code() == errc::unknown);
  BOOST_TEST(status.error().message == special);
}

BOOST_AUTO_TEST_CASE(unimplemented_service_and_method_differ_in_their_messages) {
  rpc_pair pair;
  pair.serve(interop_service());
  auto no_service =
      pair.caller().call<rpc::empty_message>("absent/empty", rpc::empty_message{}, within());
  auto no_method = pair.caller().call<rpc::empty_message>("interop/unimplemented_call",
                                                          rpc::empty_message{}, within());
  BOOST_TEST(no_service.code() == errc::unimplemented);
  BOOST_TEST(no_method.code() == errc::unimplemented);
  BOOST_TEST(no_service.error().message.find("absent") != std::string::npos);
  BOOST_TEST(no_method.error().message.find("unimplemented_call") != std::string::npos);
  BOOST_TEST(no_service.error().message != no_method.error().message);

  // A streaming call learns it on its first read.
  auto stream = pair.caller().bidi<blob, blob>("interop/unimplemented_stream", within());
  auto first = stream.read();
  BOOST_TEST(first.code() == errc::unimplemented);
  BOOST_TEST(first.error().message.find("unimplemented_stream") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(cancel_after_begin_cancels_both_ends) {
  struct observed {
    bool cancelled = false;
    error reason;
    error read;
  };
  std::promise<void> started;
  std::promise<observed> seen;
  rpc_pair pair;
  rpc::service s("cancel");
  s.client_stream<blob, aggregate_reply>(
      {"aggregate"}, [&](rpc::reader<blob>& in, rpc::call_context& ctx) -> result<aggregate_reply> {
        started.set_value();
        auto next = in.read(wait_limit);
        observed o;
        o.cancelled = ctx.wait_cancelled(wait_limit);
        o.reason = ctx.cancel_reason();
        o.read = next.error();
        seen.set_value(o);
        return aggregate_reply{};
      });
  pair.serve(std::move(s));

  auto call = pair.caller().client_stream<blob, aggregate_reply>("cancel/aggregate", within());
  auto handler_started = started.get_future();
  BOOST_REQUIRE(ready(handler_started));
  call.cancel();
  auto reply = call.finish();
  BOOST_TEST(reply.code() == errc::cancelled);

  auto handler = seen.get_future();
  BOOST_REQUIRE(ready(handler));
  auto o = handler.get();
  BOOST_TEST(o.cancelled);
  BOOST_TEST(o.reason.code == errc::cancelled);
  BOOST_TEST(o.read.code == errc::cancelled);
  BOOST_TEST(eventually([&] { return pair.server_node->active_calls() == 0; }));
}

BOOST_AUTO_TEST_CASE(cancel_after_first_response_delivers_nothing_more) {
  struct observed {
    bool cancelled = false;
    error reason;
    error late_write;
    error late_read;
  };
  std::promise<observed> seen;
  rpc_pair pair;
  rpc::service s("cancel");
  s.bidi<payload_request, blob>(
      {"after_first"},
      [&](rpc::reader<payload_request>& in, rpc::writer<blob>& out,
          rpc::call_context& ctx) -> result<void> {
        auto first = in.read(wait_limit);
        if (!first || !*first) return error{errc::invalid_argument, "no first request"};
        // A first response and a second one that races the caller's cancel.
        (void)out.write(blob{make_payload((*first)->response_size, response_seed)});
        (void)out.write(blob{make_payload((*first)->response_size, response_seed)});
        observed o;
        o.cancelled = ctx.wait_cancelled(wait_limit);
        o.reason = ctx.cancel_reason();
        o.late_write = out.write(blob{make_payload(1)}).error();
        o.late_read = in.read(wait_limit).error();
        seen.set_value(o);
        return {};
      });
  pair.serve(std::move(s));

  auto call = pair.caller().bidi<payload_request, blob>("cancel/after_first", within());
  BOOST_REQUIRE(call.write(payload_request{31415, make_payload(27182, request_seed)}).ok());
  auto first = call.read();
  BOOST_REQUIRE_MESSAGE(first.ok(), first.error().to_string());
  BOOST_REQUIRE(first->has_value());
  BOOST_TEST((*first)->body.size() == 31415u);
  call.cancel();
  auto after = call.read(wait_limit);
  BOOST_TEST(after.code() == errc::cancelled);
  auto again = call.read(wait_limit);
  BOOST_TEST(again.code() == errc::cancelled);
  BOOST_TEST(call.write(payload_request{}).code() == errc::cancelled);

  auto handler = seen.get_future();
  BOOST_REQUIRE(ready(handler));
  auto o = handler.get();
  BOOST_TEST(o.cancelled);
  BOOST_TEST(o.reason.code == errc::cancelled);
  BOOST_TEST(o.late_write.code == errc::cancelled);
  BOOST_TEST(o.late_read.code == errc::cancelled);
  BOOST_TEST(eventually([&] { return pair.server_node->active_calls() == 0; }));
}

BOOST_AUTO_TEST_CASE(sleeping_handler_times_out_at_the_deadline_and_is_cancelled) {
  std::promise<error> seen;
  rpc_pair pair;
  rpc::service s("sleepy");
  s.bidi<payload_request, blob>({"full_duplex"},
                                [&](rpc::reader<payload_request>& in, rpc::writer<blob>&,
                                    rpc::call_context& ctx) -> result<void> {
                                  (void)in.read();
                                  ctx.wait_cancelled(10s);
                                  seen.set_value(ctx.cancel_reason());
                                  return {};
                                });
  pair.serve(std::move(s));

  auto started = std::chrono::steady_clock::now();
  auto call = pair.caller().bidi<payload_request, blob>("sleepy/full_duplex", within(100ms));
  (void)call.write(payload_request{31415, make_payload(27182, request_seed)});
  auto r = call.read();
  auto took = std::chrono::steady_clock::now() - started;
  BOOST_TEST(r.code() == errc::deadline_exceeded);
  BOOST_TEST((took >= 100ms));

  auto handler = seen.get_future();
  BOOST_REQUIRE(ready(handler));
  auto reason = handler.get();
  BOOST_TEST((reason.code == errc::deadline_exceeded || reason.code == errc::cancelled));
  BOOST_TEST(eventually([&] { return pair.server_node->active_calls() == 0; }));
}

BOOST_AUTO_TEST_CASE(deadline_met_before_expiry_gives_no_error) {
  std::atomic<bool> saw_deadline{false};
  rpc_pair pair;
  rpc::service s("timely");
  s.unary<add_request, add_reply>(
      {"add"}, [&](const add_request& r, rpc::call_context& ctx) -> result<add_reply> {
        saw_deadline =
            ctx.deadline().has_value() && *ctx.deadline() > std::chrono::steady_clock::now();
        return add_reply{r.a + r.b};
      });
  s.server_stream<streaming_request, blob>(
      {"stream"},
      [](const streaming_request& r, rpc::writer<blob>& out, rpc::call_context&) -> result<void> {
        for (auto size : r.response_sizes)
          if (auto sent = out.write(blob{make_payload(size, response_seed)}); !sent) return sent;
        return {};
      });
  pair.serve(std::move(s));

  auto reply = pair.caller().call<add_reply>("timely/add", add_request{20, 22}, within());
  BOOST_REQUIRE_MESSAGE(reply.ok(), reply.error().to_string());
  BOOST_TEST(reply->sum == 42);
  BOOST_TEST(saw_deadline.load());

  auto stream =
      pair.caller().server_stream<blob>("timely/stream", streaming_request{{1, 2, 3}}, within());
  for (std::size_t size : {1u, 2u, 3u}) {
    auto next = stream.read();
    BOOST_REQUIRE_MESSAGE(next.ok(), next.error().to_string());
    BOOST_REQUIRE(next->has_value());
    BOOST_TEST((*next)->body.size() == size);
  }
  auto end = stream.read();
  BOOST_REQUIRE_MESSAGE(end.ok(), end.error().to_string());
  BOOST_TEST(!end->has_value());
}

BOOST_AUTO_TEST_CASE(thousands_of_expiring_calls_all_time_out_and_leave_nothing_behind) {
  rpc_pair pair;
  rpc::service s("sleepy");
  s.unary<add_request, add_reply>(
      {"wait"}, [](const add_request&, rpc::call_context& ctx) -> result<add_reply> {
        ctx.wait_cancelled(wait_limit);
        return add_reply{};
      });
  pair.serve(std::move(s));

  constexpr int calls = 5000;
  std::vector<std::future<result<add_reply>>> futures;
  futures.reserve(calls);
  for (int i = 0; i < calls; ++i)
    futures.push_back(
        pair.caller().call_async<add_reply>("sleepy/wait", add_request{i, 0}, within(50ms)));
  std::size_t exceeded = 0;
  std::map<errc, std::size_t> others;
  for (auto& f : futures) {
    BOOST_REQUIRE(ready(f));
    auto code = f.get().code();
    if (code == errc::deadline_exceeded)
      ++exceeded;
    else
      ++others[code];
  }
  BOOST_TEST(exceeded == std::size_t(calls));
  for (auto& [code, count] : others) BOOST_TEST_MESSAGE(count << " calls ended " << code);
  BOOST_TEST(eventually([&] { return pair.server_node->active_calls() == 0; }));
  BOOST_TEST(eventually([&] { return pair.server.channel_count() == 0; }));
  BOOST_TEST(eventually([&] { return pair.client.channel_count() == 0; }));
}

namespace {

// "chain/start" calls the caller's callback "level1", passing "level2", which calls the
// callback "level3" the caller passed to it: the call bounces between the two peers.
rpc::service chain_service(std::string remote) {
  rpc::service s("chain");
  s.unary<add_request, add_reply>(
      {"start"}, [remote](const add_request& r, rpc::call_context& ctx) -> result<add_reply> {
        if (ctx.depth() != 0 || ctx.peer_id() != remote)
          return error{errc::internal, "start served at the wrong depth or for the wrong peer"};
        auto level2 = std::make_shared<rpc::callback_set>("level2");
        level2->unary<add_request, add_reply>(
            {"level2"},
            [remote](const add_request& r2, rpc::call_context& ctx2) -> result<add_reply> {
              if (ctx2.depth() != 2 || ctx2.peer_id() != remote)
                return error{errc::internal, "level2 served at the wrong depth or peer"};
              auto back = ctx2.callbacks().call<add_reply>("level3", add_request{r2.a, 100});
              if (!back) return back.error();
              return add_reply{back->sum + 1000};
            });
        rpc::call_options o;
        o.callbacks = level2;
        return ctx.callbacks().call<add_reply>("level1", add_request{r.a, 10}, o);
      });
  return s;
}

result<add_reply> start_chain(rpc::node& from, const std::string& remote) {
  auto level3 = std::make_shared<rpc::callback_set>("level3");
  level3->unary<add_request, add_reply>(
      {"level3"}, [remote](const add_request& r, rpc::call_context& ctx) -> result<add_reply> {
        if (ctx.depth() != 3 || ctx.peer_id() != remote)
          return error{errc::internal, "level3 served at the wrong depth or peer"};
        return add_reply{r.a + r.b};
      });
  auto level1 = std::make_shared<rpc::callback_set>("level1");
  level1->unary<add_request, add_reply>(
      {"level1"},
      [level3, remote](const add_request& r, rpc::call_context& ctx) -> result<add_reply> {
        if (ctx.depth() != 1 || ctx.peer_id() != remote)
          return error{errc::internal, "level1 served at the wrong depth or peer"};
        rpc::call_options o;
        o.callbacks = level3;
        return ctx.callbacks().call<add_reply>("level2", add_request{r.a + r.b, 0}, o);
      });
  rpc::call_options o;
  o.callbacks = level1;
  o.timeout = wait_limit;
  return from.call<add_reply>("chain/start", add_request{1, 0}, o);
}

}  // namespace

BOOST_AUTO_TEST_CASE(callbacks_nest_three_deep_started_from_either_peer) {
  rpc_pair pair;
  pair.serve(chain_service("client"));
  pair.serve_on_client(chain_service("server"));
  auto from_client = start_chain(*pair.client_node, "server");
  BOOST_REQUIRE_MESSAGE(from_client.ok(), from_client.error().to_string());
  BOOST_TEST(from_client->sum == 1 + 10 + 100 + 1000);
  auto from_server = start_chain(*pair.server_node, "client");
  BOOST_REQUIRE_MESSAGE(from_server.ok(), from_server.error().to_string());
  BOOST_TEST(from_server->sum == 1 + 10 + 100 + 1000);
}

namespace {

rpc::service served_by(std::string id) {
  rpc::service s("both");
  s.unary<add_request, tagged_reply>(
      {"add"}, [id](const add_request& r, rpc::call_context&) -> result<tagged_reply> {
        return tagged_reply{r.a + r.b, id};
      });
  return s;
}

}  // namespace

BOOST_AUTO_TEST_CASE(calls_flow_both_ways_at_once_on_one_connection) {
  rpc_pair pair;
  pair.serve(served_by("server"));
  pair.serve_on_client(served_by("client"));
  BOOST_REQUIRE(pair.client.peers().size() == 1u);

  constexpr int threads_per_side = 4;
  constexpr int calls_per_thread = 100;
  std::promise<void> go;
  std::shared_future<void> start = go.get_future().share();
  std::atomic<int> good{0};
  std::mutex failures_mutex;
  std::vector<std::string> failures;
  auto run = [&](rpc::node& from, std::string expected, int base) {
    start.wait();
    for (int i = 0; i < calls_per_thread; ++i) {
      auto r = from.call<tagged_reply>("both/add", add_request{base, i}, within());
      if (r.ok() && r->sum == base + i && r->tag == expected) {
        ++good;
      } else {
        std::lock_guard<std::mutex> lock(failures_mutex);
        failures.push_back(r.ok() ? "wrong reply from " + r->tag : r.error().to_string());
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < threads_per_side; ++t) {
    threads.emplace_back(run, std::ref(*pair.client_node), "server", t * 1000);
    threads.emplace_back(run, std::ref(*pair.server_node), "client", t * 1000 + 500);
  }
  go.set_value();
  for (auto& t : threads) t.join();
  BOOST_TEST(good.load() == 2 * threads_per_side * calls_per_thread);
  for (auto& f : failures) BOOST_TEST_MESSAGE(f);
  BOOST_TEST(failures.empty());
}

BOOST_AUTO_TEST_CASE(fire_and_forget_runs_the_handler_and_leaves_no_channel) {
  struct observed {
    add_request request;
    bool oneway = false;
  };
  std::promise<observed> ran;
  rpc_pair pair;
  rpc::service s("events");
  s.unary<add_request, add_reply>(
      {"record"}, [&](const add_request& r, rpc::call_context& ctx) -> result<add_reply> {
        ran.set_value({r, ctx.oneway()});
        return add_reply{r.a + r.b};
      });
  pair.serve(std::move(s));

  auto sent = pair.caller().notify("events/record", add_request{7, 8});
  BOOST_REQUIRE_MESSAGE(sent.ok(), sent.error().to_string());
  auto handler = ran.get_future();
  BOOST_REQUIRE(ready(handler));
  auto o = handler.get();
  BOOST_TEST(o.request.a == 7);
  BOOST_TEST(o.request.b == 8);
  BOOST_TEST(o.oneway);
  BOOST_TEST(eventually([&] { return pair.server_node->active_calls() == 0; }));
  BOOST_TEST(eventually([&] { return pair.client.channel_count() == 0; }));
  BOOST_TEST(eventually([&] { return pair.server.channel_count() == 0; }));
}

BOOST_AUTO_TEST_CASE(fire_and_forget_sends_nothing_back_even_when_the_handler_fails) {
  std::promise<void> ran;
  rpc_pair pair;
  rpc::service s("events");
  s.unary<add_request, add_reply>(
      {"reject"}, [&](const add_request&, rpc::call_context&) -> result<add_reply> {
        ran.set_value();
        return error{errc::permission_denied, "never reaches the caller"};
      });
  pair.serve(std::move(s));

  {
    auto stream = pair.caller().open_call("events/reject", within(), /*oneway=*/true);
    BOOST_REQUIRE(stream.write_as(add_request{1, 2}).ok());
    BOOST_REQUIRE(stream.close_write().ok());
    auto handler = ran.get_future();
    BOOST_REQUIRE(ready(handler));
    BOOST_REQUIRE(eventually([&] { return pair.server_node->active_calls() == 0; }));
    // The callee's stream is just its end: no message, no status, no trailers.
    auto end = stream.read(wait_limit);
    BOOST_REQUIRE_MESSAGE(end.ok(), end.error().to_string());
    BOOST_TEST(!end->has_value());
    BOOST_TEST(stream.trailers().empty());
  }
  BOOST_TEST(eventually([&] { return pair.client.channel_count() == 0; }));
  BOOST_TEST(eventually([&] { return pair.server.channel_count() == 0; }));
}

BOOST_AUTO_TEST_CASE(json_and_msgpack_give_the_same_result_and_unknown_codecs_are_refused) {
  rpc_pair pair;
  rpc::service s("codec");
  s.unary<add_request, tagged_reply>(
      {"add"}, [](const add_request& r, rpc::call_context& ctx) -> result<tagged_reply> {
        auto it = ctx.headers().find(content_type_header);
        return tagged_reply{r.a + r.b, it == ctx.headers().end() ? "" : it->second};
      });
  pair.serve(std::move(s));

  auto as_default = pair.caller().call<tagged_reply>("codec/add", add_request{2, 40}, within());
  auto msgpack_options = within();
  msgpack_options.content_type = msgpack_content_type;
  auto as_msgpack =
      pair.caller().call<tagged_reply>("codec/add", add_request{2, 40}, msgpack_options);
  auto json_options = within();
  json_options.content_type = json_content_type;
  auto as_json = pair.caller().call<tagged_reply>("codec/add", add_request{2, 40}, json_options);
  BOOST_REQUIRE_MESSAGE(as_default.ok(), as_default.error().to_string());
  BOOST_REQUIRE_MESSAGE(as_msgpack.ok(), as_msgpack.error().to_string());
  BOOST_REQUIRE_MESSAGE(as_json.ok(), as_json.error().to_string());
  BOOST_TEST(as_default->sum == 42);
  BOOST_TEST(as_msgpack->sum == 42);
  BOOST_TEST(as_json->sum == 42);
  BOOST_TEST(as_default->tag == "");
  BOOST_TEST(as_msgpack->tag == msgpack_content_type);
  BOOST_TEST(as_json->tag == json_content_type);
  // The JSON call's messages are JSON text.
  auto json_stream = pair.caller().open_call("codec/add", json_options);
  BOOST_TEST(json_stream.payload_codec().content_type() == json_content_type);
  BOOST_REQUIRE(json_stream.write(to_bytes(R"({"a":20,"b":22})")).ok());
  BOOST_REQUIRE(json_stream.close_write().ok());
  auto text = json_stream.read();
  BOOST_REQUIRE_MESSAGE(text.ok(), text.error().to_string());
  BOOST_REQUIRE(text->has_value());
  BOOST_TEST(to_string(**text) == R"({"sum":42,"tag":"application/json"})");

  auto nope_options = within();
  nope_options.content_type = "application/x-nope";
  auto nope = pair.caller().call<tagged_reply>("codec/add", add_request{2, 40}, nope_options);
  BOOST_TEST(nope.code() == errc::invalid_argument);
  // A channel with that content-type is refused as well.
  auto raw = pair.client.open("codec/add", {{content_type_header, "application/x-nope"}});
  (void)raw.write(bytes{0x80});
  auto refused = raw.read(wait_limit);
  BOOST_REQUIRE(refused.is_error());
  BOOST_TEST(refused.error().code == errc::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()
