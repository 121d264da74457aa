// Unary calls: typed, async, raw, fire-and-forget, failures and unimplemented names.
#include <boost/test/unit_test.hpp>

#include "rpc/rpc_support.hpp"

using namespace duplex;
using namespace duplex::testing;

BOOST_AUTO_TEST_SUITE(unary)

BOOST_AUTO_TEST_CASE(typed_call_returns_the_handlers_response) {
  rpc_pair pair;
  pair.serve(calc_service());
  auto reply = pair.caller().call<add_reply>("calc/add", add_request{2, 40});
  BOOST_REQUIRE_MESSAGE(reply.ok(), reply.error().to_string());
  BOOST_TEST(reply->sum == 42);
}

BOOST_AUTO_TEST_CASE(async_calls_complete_through_future_and_callback) {
  rpc_pair pair;
  pair.serve(calc_service());
  std::vector<std::future<result<add_reply>>> futures;
  for (int i = 0; i < 100; ++i)
    futures.push_back(pair.caller().call_async<add_reply>("calc/add", add_request{i, 1}));
  for (int i = 0; i < 100; ++i) {
    BOOST_REQUIRE(futures[i].wait_for(wait_limit) == std::future_status::ready);
    auto r = futures[i].get();
    BOOST_REQUIRE_MESSAGE(r.ok(), r.error().to_string());
    BOOST_TEST(r->sum == i + 1);
  }
  std::promise<result<add_reply>> done;
  pair.caller().call_async<add_reply>("calc/add", add_request{5, 6}, {},
                                      [&](result<add_reply> r) { done.set_value(std::move(r)); });
  auto f = done.get_future();
  BOOST_REQUIRE(f.wait_for(wait_limit) == std::future_status::ready);
  BOOST_TEST(f.get()->sum == 11);
}

BOOST_AUTO_TEST_CASE(unknown_service_and_unknown_method_are_unimplemented_with_different_messages) {
  rpc_pair pair;
  pair.serve(calc_service());
  auto no_service = pair.caller().call<add_reply>("nope/add", add_request{});
  auto no_method = pair.caller().call<add_reply>("calc/mul", add_request{});
  BOOST_TEST(no_service.code() == errc::unimplemented);
  BOOST_TEST(no_method.code() == errc::unimplemented);
  BOOST_TEST(no_service.error().message != no_method.error().message);
  BOOST_TEST(no_method.error().message.find("mul") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(handler_errors_and_exceptions_reach_the_caller_and_the_peer_carries_on) {
  rpc_pair pair;
  rpc::service s("fail");
  s.unary<add_request, add_reply>({"status"},
                                  [](const add_request&, rpc::call_context&) -> result<add_reply> {
                                    return error{errc::permission_denied, "\t\n\r ☺ 😈"};
                                  });
  s.unary<add_request, add_reply>({"throw"},
                                  [](const add_request&, rpc::call_context&) -> result<add_reply> {
                                    throw std::runtime_error("boom");
                                  });
  pair.serve(std::move(s));
  pair.serve(calc_service());
  auto status = pair.caller().call<add_reply>("fail/status", add_request{});
  BOOST_TEST(status.code() == errc::permission_denied);
  BOOST_TEST(status.error().message == "\t\n\r ☺ 😈");
  auto thrown = pair.caller().call<add_reply>("fail/throw", add_request{});
  BOOST_TEST(thrown.code() == errc::unknown);
  BOOST_TEST(thrown.error().message.find("boom") != std::string::npos);
  BOOST_TEST(pair.caller().call<add_reply>("calc/add", add_request{1, 1})->sum == 2);
}

BOOST_AUTO_TEST_CASE(deadline_exceeded_never_before_the_deadline_and_the_handler_is_told) {
  rpc_pair pair;
  std::promise<error> seen;
  rpc::service s("slow");
  s.unary<add_request, add_reply>(
      {"sleep"}, [&](const add_request&, rpc::call_context& ctx) -> result<add_reply> {
        ctx.wait_cancelled(10s);
        seen.set_value(ctx.cancel_reason());
        return add_reply{};
      });
  pair.serve(std::move(s));
  rpc::call_options o;
  o.timeout = 100ms;
  auto started = std::chrono::steady_clock::now();
  auto r = pair.caller().call<add_reply>("slow/sleep", add_request{}, o);
  auto took = std::chrono::steady_clock::now() - started;
  BOOST_TEST(r.code() == errc::deadline_exceeded);
  BOOST_TEST((took >= 100ms));
  auto f = seen.get_future();
  BOOST_REQUIRE(f.wait_for(wait_limit) == std::future_status::ready);
  auto reason = f.get();
  BOOST_TEST((reason.code == errc::deadline_exceeded || reason.code == errc::cancelled));
  BOOST_TEST(eventually([&] { return pair.server_node->active_calls() == 0; }));
}

BOOST_AUTO_TEST_CASE(callbacks_nest_three_levels_deep) {
  rpc_pair pair;
  // server handler -> client callback "level1" -> server callback "level2" -> client "level3"
  rpc::service s("cb");
  s.unary<add_request, add_reply>(
      {"start"}, [](const add_request& r, rpc::call_context& ctx) -> result<add_reply> {
        auto level2 = std::make_shared<rpc::callback_set>("callbacks");
        level2->unary<add_request, add_reply>(
            {"level2"}, [](const add_request& r2, rpc::call_context& ctx2) -> result<add_reply> {
              auto back = ctx2.callbacks().call<add_reply>("level3", add_request{r2.a, 100});
              if (!back) return back.error();
              return add_reply{back->sum + 1000};
            });
        rpc::call_options o;
        o.callbacks = level2;
        return ctx.callbacks().call<add_reply>("level1", add_request{r.a, 10}, o);
      });
  pair.serve(std::move(s));

  auto level3 = std::make_shared<rpc::callback_set>("callbacks");
  level3->unary<add_request, add_reply>(
      {"level3"}, [](const add_request& r, rpc::call_context& ctx) -> result<add_reply> {
        BOOST_TEST(ctx.depth() == 3u);
        return add_reply{r.a + r.b};
      });
  auto callbacks = std::make_shared<rpc::callback_set>("callbacks");
  callbacks->unary<add_request, add_reply>(
      {"level1"}, [level3](const add_request& r, rpc::call_context& ctx) -> result<add_reply> {
        BOOST_TEST(ctx.depth() == 1u);
        rpc::call_options o;
        o.callbacks = level3;
        return ctx.callbacks().call<add_reply>("level2", add_request{r.a + r.b, 0}, o);
      });
  rpc::call_options o;
  o.callbacks = callbacks;
  o.timeout = wait_limit;
  auto r = pair.caller().call<add_reply>("cb/start", add_request{1, 0}, o);
  BOOST_REQUIRE_MESSAGE(r.ok(), r.error().to_string());
  BOOST_TEST(r->sum == 1 + 10 + 100 + 1000);
}

BOOST_AUTO_TEST_CASE(a_request_over_max_payload_fails_at_the_caller_with_resource_exhausted) {
  rpc_pair pair;
  rpc::service s("echo");
  s.raw({"echo"}, [](rpc::call_stream& call, rpc::call_context&) -> error {
    while (true) {
      auto next = call.read();
      if (!next) return next.error();
      if (!*next) return {};
      if (auto written = call.write(std::move(**next)); !written) return written.error();
    }
  });
  pair.serve(std::move(s));
  auto raw = pair.caller().call_raw("echo/echo", bytes((4u << 20) + 1, 'x'));
  BOOST_TEST(raw.code() == errc::resource_exhausted);
  auto typed = pair.caller().call<blob>("echo/echo", make_blob((4u << 20) + 100));
  BOOST_TEST(typed.code() == errc::resource_exhausted);
  auto fits = pair.caller().call_raw("echo/echo", bytes(1000, 'y'));
  BOOST_REQUIRE(fits.ok());
  BOOST_TEST(fits->size() == 1000u);
}

BOOST_AUTO_TEST_CASE(destroying_the_serving_node_ends_its_running_calls_with_unavailable) {
  rpc_pair pair;
  rpc::service s("slow");
  s.unary<add_request, add_reply>(
      {"wait"}, [](const add_request&, rpc::call_context& ctx) -> result<add_reply> {
        ctx.wait_cancelled(10s);
        return add_reply{};
      });
  pair.serve(std::move(s));
  auto pending = pair.caller().call_async<add_reply>("slow/wait", add_request{});
  BOOST_REQUIRE(eventually([&] { return pair.server_node->active_calls() == 1; }));
  pair.server_node.reset();
  BOOST_REQUIRE(pending.wait_for(wait_limit) == std::future_status::ready);
  BOOST_TEST(pending.get().code() == errc::unavailable);
}

BOOST_AUTO_TEST_CASE(the_callee_cancelling_ends_the_call_with_cancelled_at_both_ends) {
  rpc_pair pair;
  std::promise<bool> handler_saw;
  rpc::service s("feed");
  s.server_stream<add_request, add_reply>(
      {"one_then_cancel"},
      [&](const add_request&, rpc::writer<add_reply>& out, rpc::call_context& ctx) -> result<void> {
        if (auto sent = out.write(add_reply{1}); !sent) return sent;
        ctx.cancel();
        handler_saw.set_value(ctx.cancelled() && !out.write(add_reply{2}).ok());
        return {};
      });
  pair.serve(std::move(s));
  auto call = pair.caller().server_stream<add_reply>("feed/one_then_cancel", add_request{});
  // CANCEL is abortive (PROTOCOL.md §4): the response may or may not be read before it.
  auto next = call.read(wait_limit);
  if (next.ok()) {
    BOOST_REQUIRE(next->has_value());
    BOOST_TEST((*next)->sum == 1);
    next = call.read(wait_limit);
  }
  BOOST_TEST(next.code() == errc::cancelled);
  auto saw = handler_saw.get_future();
  BOOST_REQUIRE(saw.wait_for(wait_limit) == std::future_status::ready);
  BOOST_TEST(saw.get());
  BOOST_TEST(eventually([&] {
    return pair.server_node->active_calls() == 0 && pair.server.channel_count() == 0 &&
           pair.client.channel_count() == 0;
  }));
}

BOOST_AUTO_TEST_SUITE_END()
