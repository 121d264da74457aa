// Deadlines across calls: a call made inside a handler inherits the remaining deadline, and a
// call that arrives with no time left never runs its handler.
#include <boost/test/unit_test.hpp>

#include "rpc/rpc_support.hpp"

using namespace duplex;
using namespace duplex::testing;

namespace {

using time_point = std::chrono::steady_clock::time_point;

// Waits for cancellation (at most 10 s) and tells how the call ended for it.
rpc::service slow_service(std::promise<error>& seen) {
  rpc::service s("slow");
  s.unary<add_request, add_reply>(
      {"sleep"}, [&seen](const add_request&, rpc::call_context& ctx) -> result<add_reply> {
        ctx.wait_cancelled(10s);
        seen.set_value(ctx.cancel_reason());
        return add_reply{};
      });
  return s;
}

struct inner_failure {
  error status;
  time_point at;
  std::optional<time_point> outer_deadline;
};

// "outer/relay" calls the caller's "slow/sleep" with no deadline of its own.
rpc::service relay_service(rpc_pair& pair, std::promise<inner_failure>& failed) {
  rpc::service s("outer");
  s.unary<add_request, add_reply>(
      {"relay"},
      [&pair, &failed](const add_request& r, rpc::call_context& ctx) -> result<add_reply> {
        auto inner = pair.server_node->call<add_reply>("slow/sleep", r);
        failed.set_value({inner.error(), std::chrono::steady_clock::now(), ctx.deadline()});
        return inner;
      });
  return s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(deadlines)

BOOST_AUTO_TEST_CASE(a_call_made_inside_a_handler_inherits_the_remaining_deadline) {
  struct seen_deadline {
    std::optional<time_point> at;
    std::optional<std::int64_t> remaining_ms;  // the duplex-timeout the call arrived with
  };
  auto seen = [](rpc::call_context& ctx) {
    seen_deadline out{ctx.deadline(), std::nullopt};
    auto it = ctx.headers().find("duplex-timeout");
    if (it != ctx.headers().end()) out.remaining_ms = std::stoll(it->second);
    return out;
  };
  std::mutex mutex;
  std::map<int, seen_deadline> inner_seen;
  std::promise<seen_deadline> outer_seen;
  rpc_pair pair;
  rpc::service inner("inner");
  inner.unary<add_request, add_reply>(
      {"deadline"}, [&](const add_request& r, rpc::call_context& ctx) -> result<add_reply> {
        std::lock_guard<std::mutex> lock(mutex);
        inner_seen[r.a] = seen(ctx);
        return add_reply{};
      });
  pair.serve_on_client(std::move(inner));
  rpc::service nest("outer");
  nest.unary<add_request, add_reply>(
      {"nest"}, [&](const add_request&, rpc::call_context& ctx) -> result<add_reply> {
        outer_seen.set_value(seen(ctx));
        auto& self = *pair.server_node;
        // No deadline of its own, a longer one, and one that opts out of the context.
        if (auto r = self.call<add_reply>("inner/deadline", add_request{1, 0}); !r) return r;
        if (auto r = self.call<add_reply>("inner/deadline", add_request{2, 0}, within(60s)); !r)
          return r;
        rpc::call_options detached;
        detached.inherit_context = false;
        return self.call<add_reply>("inner/deadline", add_request{3, 0}, detached);
      });
  pair.serve(std::move(nest));

  auto reply = pair.caller().call<add_reply>("outer/nest", add_request{}, within(3s));
  BOOST_REQUIRE_MESSAGE(reply.ok(), reply.error().to_string());
  auto f = outer_seen.get_future();
  BOOST_REQUIRE(f.wait_for(wait_limit) == std::future_status::ready);
  auto outer = f.get();
  BOOST_REQUIRE(outer.at.has_value());
  BOOST_REQUIRE(outer.remaining_ms.has_value());
  BOOST_TEST(*outer.remaining_ms <= 3000);
  std::lock_guard<std::mutex> lock(mutex);
  BOOST_REQUIRE(inner_seen.size() == 3u);
  for (int which : {1, 2}) {
    auto& in = inner_seen[which];
    BOOST_REQUIRE_MESSAGE(in.at.has_value(), "inner call " << which);
    BOOST_REQUIRE_MESSAGE(in.remaining_ms.has_value(), "inner call " << which);
    // The inner call carries what was left of the outer call's time, never more ...
    BOOST_TEST(*in.remaining_ms <= *outer.remaining_ms, "inner call " << which);
    // ... so its callee's deadline is the outer one give or take the time in transit, far
    // from the inner call's own 60 s.
    BOOST_TEST((*in.at <= *outer.at + wait_limit), "inner call " << which);
  }
  BOOST_TEST(!inner_seen[3].at.has_value());
  BOOST_TEST(!inner_seen[3].remaining_ms.has_value());
}

BOOST_AUTO_TEST_CASE(a_nested_call_to_a_slow_service_fails_at_the_outer_deadline) {
  std::promise<error> slow_seen;
  std::promise<inner_failure> failed;
  rpc_pair pair;
  pair.serve_on_client(slow_service(slow_seen));
  pair.serve(relay_service(pair, failed));

  // The outer deadline arrives as a header only: the outer caller never cancels on its own.
  auto outer = pair.client.open("outer/relay", {{"duplex-timeout", "300"}});
  BOOST_REQUIRE(outer.write_as(add_request{}).ok());
  BOOST_REQUIRE(outer.close_write().ok());

  auto f = failed.get_future();
  BOOST_REQUIRE(f.wait_for(wait_limit) == std::future_status::ready);
  auto inner = f.get();
  BOOST_TEST(inner.status.code == errc::deadline_exceeded);
  BOOST_REQUIRE(inner.outer_deadline.has_value());
  BOOST_TEST((inner.at >= *inner.outer_deadline));
  auto slow = slow_seen.get_future();
  BOOST_REQUIRE(slow.wait_for(wait_limit) == std::future_status::ready);
  auto reason = slow.get().code;
  BOOST_TEST((reason == errc::deadline_exceeded || reason == errc::cancelled));
  // The outer call does not end well either: never a clean end without a status.
  auto end = outer.read(wait_limit);
  BOOST_TEST(end.is_error());
  if (end.is_error())
    BOOST_TEST(
        (end.error().code == errc::deadline_exceeded || end.error().code == errc::cancelled));
  BOOST_TEST(eventually([&] {
    return pair.server_node->active_calls() == 0 && pair.client_node->active_calls() == 0;
  }));
}

BOOST_AUTO_TEST_CASE(an_expiring_caller_ends_the_nested_calls_of_its_callee) {
  std::promise<error> slow_seen;
  std::promise<inner_failure> failed;
  rpc_pair pair;
  pair.serve_on_client(slow_service(slow_seen));
  pair.serve(relay_service(pair, failed));

  auto started = std::chrono::steady_clock::now();
  auto r = pair.caller().call<add_reply>("outer/relay", add_request{}, within(300ms));
  BOOST_TEST(r.code() == errc::deadline_exceeded);
  BOOST_TEST((std::chrono::steady_clock::now() - started >= 300ms));

  auto f = failed.get_future();
  BOOST_REQUIRE(f.wait_for(wait_limit) == std::future_status::ready);
  auto inner = f.get();
  // The callee learns of the expiry by its own deadline or by the caller's cancel, whichever
  // comes first; either way not before the caller's deadline.
  BOOST_TEST(
      (inner.status.code == errc::deadline_exceeded || inner.status.code == errc::cancelled));
  BOOST_TEST((inner.at - started >= 300ms));
  auto slow = slow_seen.get_future();
  BOOST_REQUIRE(slow.wait_for(wait_limit) == std::future_status::ready);
  BOOST_TEST(eventually([&] {
    return pair.server_node->active_calls() == 0 && pair.client_node->active_calls() == 0;
  }));
}

BOOST_AUTO_TEST_CASE(a_call_arriving_with_no_time_left_never_runs_its_handler) {
  std::atomic<int> runs{0};
  rpc_pair pair;
  rpc::service s("calc");
  s.unary<add_request, add_reply>(
      {"add"}, [&](const add_request& r, rpc::call_context&) -> result<add_reply> {
        ++runs;
        return add_reply{r.a + r.b};
      });
  pair.serve(std::move(s));

  for (auto timeout : {"0", "-5"}) {
    auto ch = pair.client.open("calc/add", {{"duplex-timeout", timeout}});
    // The callee may answer, and cancel the rest of the request, before it is written.
    (void)ch.write_as(add_request{1, 2});
    (void)ch.close_write();
    auto r = ch.read(wait_limit);
    BOOST_REQUIRE_MESSAGE(r.is_error(), "duplex-timeout " << timeout);
    BOOST_TEST(r.error().code == errc::deadline_exceeded, "duplex-timeout " << timeout);
    // The callee's status, not a read that timed out here.
    BOOST_TEST(ch.meta().trailers["duplex-status"] == "4", "duplex-timeout " << timeout);
  }
  auto malformed = pair.client.open("calc/add", {{"duplex-timeout", "soon"}});
  (void)malformed.write_as(add_request{1, 2});
  (void)malformed.close_write();
  auto r = malformed.read(wait_limit);
  BOOST_REQUIRE(r.is_error());
  BOOST_TEST(r.error().code == errc::invalid_argument);
  BOOST_TEST(malformed.meta().trailers["duplex-status"] == "3");
  BOOST_TEST(runs.load() == 0);

  // A well-formed one runs.
  auto ok = pair.client.open("calc/add", {{"duplex-timeout", "5000"}});
  BOOST_REQUIRE(ok.write_as(add_request{1, 2}).ok());
  BOOST_REQUIRE(ok.close_write().ok());
  auto sum = ok.read_as<add_reply>(wait_limit);
  BOOST_REQUIRE_MESSAGE(sum.ok(), sum.error().to_string());
  BOOST_REQUIRE(sum->has_value());
  BOOST_TEST((*sum)->sum == 3);
  BOOST_TEST(runs.load() == 1);
}

BOOST_AUTO_TEST_SUITE_END()
