// Callbacks' failures: a callback called after its call ended, a name the caller did not pass,
// and nesting deeper than the node's limit.
#include <boost/test/unit_test.hpp>

#include "rpc/rpc_support.hpp"

using namespace duplex;
using namespace duplex::testing;

namespace {

// Callbacks that add their two numbers: "progress" by default.
std::shared_ptr<rpc::callback_set> adding_callbacks(std::atomic<int>& runs,
                                                    const std::string& name = "progress") {
  auto set = std::make_shared<rpc::callback_set>("callbacks");
  set->unary<add_request, add_reply>(
      {name}, [&runs](const add_request& r, rpc::call_context&) -> result<add_reply> {
        ++runs;
        return add_reply{r.a + r.b};
      });
  return set;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(callbacks)

BOOST_AUTO_TEST_CASE(calling_a_callback_after_its_call_ended_fails_with_failed_precondition) {
  std::promise<rpc::remote_callbacks> kept;
  std::atomic<int> runs{0};
  rpc_pair pair;
  rpc::service s("jobs");
  s.unary<add_request, add_reply>(
      {"run"}, [&](const add_request& r, rpc::call_context& ctx) -> result<add_reply> {
        // One callback while the call runs, then a copy of the handle outlives it.
        auto during = ctx.callbacks().call<add_reply>("progress", add_request{r.a, 1});
        kept.set_value(ctx.callbacks());
        if (!during) return during.error();
        return add_reply{during->sum};
      });
  pair.serve(std::move(s));

  auto options = within();
  options.callbacks = adding_callbacks(runs);
  auto reply = pair.caller().call<add_reply>("jobs/run", add_request{41, 0}, options);
  BOOST_REQUIRE_MESSAGE(reply.ok(), reply.error().to_string());
  BOOST_TEST(reply->sum == 42);
  BOOST_TEST(runs.load() == 1);

  auto handle = kept.get_future();
  BOOST_REQUIRE(handle.wait_for(wait_limit) == std::future_status::ready);
  auto callbacks = handle.get();
  BOOST_REQUIRE(eventually([&] { return pair.server_node->active_calls() == 0; }));
  BOOST_TEST(!callbacks.valid());
  BOOST_TEST(callbacks.has("progress"));
  auto late = callbacks.call<add_reply>("progress", add_request{1, 1}, within());
  BOOST_TEST(late.code() == errc::failed_precondition);
  BOOST_TEST(runs.load() == 1);
}

BOOST_AUTO_TEST_CASE(calling_a_callback_the_caller_did_not_pass_is_not_found) {
  std::mutex mutex;
  std::vector<error> missing;
  std::atomic<int> runs{0};
  rpc_pair pair;
  rpc::service s("jobs");
  s.unary<add_request, add_reply>(
      {"run"}, [&](const add_request&, rpc::call_context& ctx) -> result<add_reply> {
        auto absent = ctx.callbacks().call<add_reply>("no_such_callback", add_request{});
        {
          std::lock_guard<std::mutex> lock(mutex);
          missing.push_back(absent.error());
        }
        auto present = ctx.callbacks().call<add_reply>("progress", add_request{2, 3});
        if (!present) return present.error();
        return add_reply{present->sum};
      });
  pair.serve(std::move(s));

  auto options = within();
  options.callbacks = adding_callbacks(runs);
  auto reply = pair.caller().call<add_reply>("jobs/run", add_request{}, options);
  BOOST_REQUIRE_MESSAGE(reply.ok(), reply.error().to_string());
  BOOST_TEST(reply->sum == 5);
  BOOST_TEST(runs.load() == 1);

  // A call that passed no callbacks at all: every name is not_found.
  auto none = pair.caller().call<add_reply>("jobs/run", add_request{}, within());
  BOOST_TEST(none.code() == errc::not_found);
  BOOST_TEST(none.error().message.find("progress") != std::string::npos);

  std::lock_guard<std::mutex> lock(mutex);
  BOOST_REQUIRE(missing.size() == 2u);
  for (auto& e : missing) {
    BOOST_TEST(e.code == errc::not_found);
    BOOST_TEST(e.message.find("no_such_callback") != std::string::npos);
  }
}

namespace {

// "deep/start" calls the caller's callback "level1" passing "level2", which calls "level2"
// passing "level3", and so on back and forth until the level the request asks for (a), which
// answers with its depth.
std::shared_ptr<rpc::callback_set> level(std::size_t n) {
  auto set = std::make_shared<rpc::callback_set>("level" + std::to_string(n));
  set->unary<add_request, add_reply>(
      {"level" + std::to_string(n)},
      [n](const add_request& r, rpc::call_context& ctx) -> result<add_reply> {
        if (ctx.depth() != n) return error{errc::internal, "served at the wrong depth"};
        if (n == static_cast<std::size_t>(r.a)) return add_reply{static_cast<int>(n)};
        rpc::call_options o;
        o.callbacks = level(n + 2);
        return ctx.callbacks().call<add_reply>("level" + std::to_string(n + 1), r, o);
      });
  return set;
}

rpc::service deep_service() {
  rpc::service s("deep");
  s.unary<add_request, add_reply>(
      {"start"}, [](const add_request& r, rpc::call_context& ctx) -> result<add_reply> {
        rpc::call_options o;
        o.callbacks = level(2);
        return ctx.callbacks().call<add_reply>("level1", r, o);
      });
  return s;
}

result<add_reply> start_deep(rpc::node& from, int levels) {
  auto options = within();
  options.callbacks = level(1);
  return from.call<add_reply>("deep/start", add_request{levels, 0}, options);
}

}  // namespace

BOOST_AUTO_TEST_CASE(callbacks_nesting_deeper_than_the_limit_are_resource_exhausted) {
  rpc::node_options limited;
  limited.max_callback_depth = 2;
  rpc_pair pair(limited, limited);
  pair.serve(deep_service());
  auto within_limit = start_deep(*pair.client_node, 2);
  BOOST_REQUIRE_MESSAGE(within_limit.ok(), within_limit.error().to_string());
  BOOST_TEST(within_limit->sum == 2);
  auto too_deep = start_deep(*pair.client_node, 3);
  BOOST_TEST(too_deep.code() == errc::resource_exhausted);
}

BOOST_AUTO_TEST_CASE(the_callee_of_a_callback_enforces_its_own_depth_limit) {
  // The server nests as deep as it likes; the client, serving the callbacks, allows 2.
  rpc::node_options limited;
  limited.max_callback_depth = 2;
  rpc_pair pair({}, limited);
  pair.serve(deep_service());
  auto too_deep = start_deep(*pair.client_node, 3);
  BOOST_TEST(too_deep.code() == errc::resource_exhausted);
  auto within_limit = start_deep(*pair.client_node, 2);
  BOOST_REQUIRE_MESSAGE(within_limit.ok(), within_limit.error().to_string());
  BOOST_TEST(within_limit->sum == 2);
  // Without the limit the same chain goes deeper.
  rpc_pair unlimited;
  unlimited.serve(deep_service());
  auto deeper = start_deep(*unlimited.client_node, 5);
  BOOST_REQUIRE_MESSAGE(deeper.ok(), deeper.error().to_string());
  BOOST_TEST(deeper->sum == 5);
}

BOOST_AUTO_TEST_SUITE_END()
