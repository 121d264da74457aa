// Interceptors: the client and server chains run in order and see each call's method, headers,
// messages in both directions and final status; they can add headers and reject calls.
#include <boost/test/unit_test.hpp>

#include "rpc/rpc_support.hpp"

using namespace duplex;
using namespace duplex::testing;

namespace {

struct event {
  std::string who;   // the interceptor's name
  std::string what;  // start, sent, received, finish
  rpc::call_info call;
  bytes payload;
  error status;
  metadata trailers;
};

// What every interceptor of a test saw, in the order it saw it.
class journal {
 public:
  void add(event e) {
    std::lock_guard<std::mutex> lock(mutex_);
    events_.push_back(std::move(e));
  }
  // The events of the client chain (or of the server chain).
  std::vector<event> of(bool client) const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<event> out;
    for (auto& e : events_)
      if (e.call.client == client) out.push_back(e);
    return out;
  }
  std::size_t count(bool client, const std::string& what) const {
    std::size_t n = 0;
    for (auto& e : of(client))
      if (e.what == what) ++n;
    return n;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<event> events_;
};

std::vector<std::string> steps(const std::vector<event>& events) {
  std::vector<std::string> out;
  for (auto& e : events) out.push_back(e.who + " " + e.what);
  return out;
}

class recorder : public rpc::interceptor {
 public:
  recorder(std::string name, std::shared_ptr<journal> log, metadata add_headers = {})
      : name_(std::move(name)), log_(std::move(log)), add_headers_(std::move(add_headers)) {}

  result<void> on_start(rpc::call_info& call) override {
    log_->add({name_, "start", call, {}, {}, {}});
    for (auto& [key, value] : add_headers_) call.headers[key] = value;
    return {};
  }
  result<void> on_message(const rpc::call_info& call, rpc::direction dir,
                          const bytes& payload) override {
    log_->add({name_, dir == rpc::direction::sent ? "sent" : "received", call, payload, {}, {}});
    return {};
  }
  void on_finish(const rpc::call_info& call, const error& status,
                 const metadata& trailers) override {
    log_->add({name_, "finish", call, {}, status, trailers});
  }

 private:
  std::string name_;
  std::shared_ptr<journal> log_;
  metadata add_headers_;
};

// Lets a call through only with the right authorization header.
class gate : public rpc::interceptor {
 public:
  result<void> on_start(rpc::call_info& call) override {
    auto it = call.headers.find("authorization");
    if (it == call.headers.end() || it->second != "secret")
      return error{errc::permission_denied, "a valid authorization header is required"};
    return {};
  }
};

// Refuses messages longer than `limit` bytes in one direction.
class size_limit : public rpc::interceptor {
 public:
  size_limit(rpc::direction dir, std::size_t limit) : dir_(dir), limit_(limit) {}
  result<void> on_message(const rpc::call_info&, rpc::direction dir,
                          const bytes& payload) override {
    if (dir == dir_ && payload.size() > limit_)
      return error{errc::resource_exhausted, "message larger than the interceptor allows"};
    return {};
  }

 private:
  rpc::direction dir_;
  std::size_t limit_;
};

template <class T>
bytes packed(const T& value) {
  msgpack::sbuffer buffer;
  msgpack::pack(buffer, value);
  return bytes(buffer.data(), buffer.data() + buffer.size());
}

// calc/add, which also reports the headers it saw in trailers and fails on a == -1.
rpc::service observed_calc(std::atomic<int>& runs) {
  rpc::service s("calc");
  s.unary<add_request, add_reply>(
      {"add"}, [&runs](const add_request& r, rpc::call_context& ctx) -> result<add_reply> {
        ++runs;
        ctx.set_trailer("x-handler", "done");
        auto added = ctx.headers().find("x-added-by-a");
        ctx.set_trailer("x-saw-added", added == ctx.headers().end() ? "no" : added->second);
        if (r.a == -1) return error{errc::failed_precondition, "a must not be -1"};
        return add_reply{r.a + r.b};
      });
  return s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(interceptors)

BOOST_AUTO_TEST_CASE(chains_run_in_order_and_see_method_headers_messages_and_status) {
  auto log = std::make_shared<journal>();
  std::atomic<int> runs{0};
  rpc::node_options server_options;
  server_options.server_interceptors = {std::make_shared<recorder>("C", log),
                                        std::make_shared<recorder>("D", log)};
  rpc::node_options client_options;
  client_options.client_interceptors = {
      std::make_shared<recorder>("A", log, metadata{{"x-added-by-a", "a"}}),
      std::make_shared<recorder>("B", log)};
  rpc_pair pair(server_options, client_options);
  pair.serve(observed_calc(runs));

  auto options = within();
  options.headers = {{"x-trace", "abc"}};
  auto reply = pair.caller().call<add_reply>("calc/add", add_request{2, 40}, options);
  BOOST_REQUIRE_MESSAGE(reply.ok(), reply.error().to_string());
  BOOST_TEST(reply->sum == 42);
  BOOST_REQUIRE(eventually([&] { return log->count(false, "finish") == 2; }));

  auto client = log->of(true);
  auto server = log->of(false);
  const std::vector<std::string> client_steps{"A start",    "B start",    "A sent",   "B sent",
                                              "A received", "B received", "A finish", "B finish"};
  const std::vector<std::string> server_steps{"C start", "D start", "C received", "D received",
                                              "C sent",  "D sent",  "C finish",   "D finish"};
  BOOST_TEST(steps(client) == client_steps, boost::test_tools::per_element());
  BOOST_TEST(steps(server) == server_steps, boost::test_tools::per_element());
  BOOST_REQUIRE(client.size() == client_steps.size());
  BOOST_REQUIRE(server.size() == server_steps.size());

  for (auto& e : client) {
    BOOST_TEST(e.call.method == "calc/add");
    BOOST_TEST(e.call.client);
    BOOST_TEST(e.call.depth == 0u);
    BOOST_TEST(e.call.headers.count("x-trace") == 1u);
  }
  for (auto& e : server) {
    BOOST_TEST(e.call.method == "calc/add");
    BOOST_TEST(!e.call.client);
    BOOST_TEST(e.call.peer_id == "client");
    BOOST_TEST(e.call.headers.count("x-trace") == 1u);
    BOOST_TEST(e.call.headers.count("x-added-by-a") == 1u);
  }
  // B runs after A: it sees the header A added.
  BOOST_TEST(client[0].call.headers.count("x-added-by-a") == 0u);
  BOOST_TEST(client[1].call.headers.count("x-added-by-a") == 1u);

  auto request = packed(add_request{2, 40});
  auto response = packed(add_reply{42});
  BOOST_TEST((client[2].payload == request));
  BOOST_TEST((client[4].payload == response));
  BOOST_TEST((server[2].payload == request));
  BOOST_TEST((server[4].payload == response));

  for (auto* e : {&client[6], &client[7], &server[6], &server[7]}) {
    BOOST_TEST(e->status.ok());
    BOOST_TEST(e->trailers["x-handler"] == "done");
  }
  BOOST_TEST(runs.load() == 1);
}

BOOST_AUTO_TEST_CASE(a_client_interceptor_adds_a_header_the_handler_sees) {
  std::atomic<int> runs{0};
  auto log = std::make_shared<journal>();
  rpc::node_options client_options;
  client_options.client_interceptors = {
      std::make_shared<recorder>("A", log, metadata{{"x-added-by-a", "from-the-interceptor"}})};
  rpc_pair pair({}, client_options);
  pair.serve(observed_calc(runs));

  auto call = pair.caller().client_stream<add_request, add_reply>("calc/add", within());
  BOOST_REQUIRE(call.write(add_request{1, 2}).ok());
  auto reply = call.finish();
  BOOST_REQUIRE_MESSAGE(reply.ok(), reply.error().to_string());
  BOOST_TEST(call.trailers()["x-saw-added"] == "from-the-interceptor");
}

BOOST_AUTO_TEST_CASE(both_chains_see_a_failed_calls_status) {
  auto log = std::make_shared<journal>();
  std::atomic<int> runs{0};
  rpc::node_options server_options;
  server_options.server_interceptors = {std::make_shared<recorder>("C", log)};
  rpc::node_options client_options;
  client_options.client_interceptors = {std::make_shared<recorder>("A", log)};
  rpc_pair pair(server_options, client_options);
  pair.serve(observed_calc(runs));

  auto reply = pair.caller().call<add_reply>("calc/add", add_request{-1, 0}, within());
  BOOST_TEST(reply.code() == errc::failed_precondition);
  BOOST_REQUIRE(eventually([&] { return log->count(false, "finish") == 1; }));
  BOOST_REQUIRE(log->count(true, "finish") == 1u);
  for (bool client : {true, false}) {
    for (auto& e : log->of(client)) {
      if (e.what != "finish") continue;
      BOOST_TEST(e.status.code == errc::failed_precondition);
      BOOST_TEST(e.status.message == "a must not be -1");
      BOOST_TEST(e.trailers["x-handler"] == "done");
    }
  }
}

// A handler's own deadline_exceeded (e.g. from a call it made) is the call's status like any
// other, also when it arrives while the caller waits in a read bounded by its deadline.
BOOST_AUTO_TEST_CASE(a_remote_deadline_exceeded_status_reaches_the_client_chain) {
  auto log = std::make_shared<journal>();
  rpc::node_options client_options;
  client_options.client_interceptors = {std::make_shared<recorder>("A", log)};
  rpc_pair pair({}, client_options);
  rpc::service s("slow");
  s.unary<add_request, add_reply>(
      {"downstream"}, [](const add_request&, rpc::call_context&) -> result<add_reply> {
        std::this_thread::sleep_for(100ms);  // the caller is waiting in its read by now
        return error{errc::deadline_exceeded, "the downstream call timed out"};
      });
  pair.serve(std::move(s));

  auto reply = pair.caller().call<add_reply>("slow/downstream", add_request{1, 2}, within());
  BOOST_TEST(reply.code() == errc::deadline_exceeded);
  BOOST_TEST(reply.error().message == "the downstream call timed out");
  BOOST_REQUIRE(eventually([&] { return log->count(true, "finish") == 1; }));
  for (auto& e : log->of(true))
    if (e.what == "finish") BOOST_TEST(e.status.message == "the downstream call timed out");
}

BOOST_AUTO_TEST_CASE(a_server_interceptor_rejection_keeps_the_handler_from_running) {
  std::atomic<int> runs{0};
  auto log = std::make_shared<journal>();
  rpc::node_options server_options;
  server_options.server_interceptors = {std::make_shared<gate>(),
                                        std::make_shared<recorder>("D", log)};
  rpc_pair pair(server_options);
  pair.serve(observed_calc(runs));

  auto refused = pair.caller().call<add_reply>("calc/add", add_request{1, 2}, within());
  BOOST_TEST(refused.code() == errc::permission_denied);
  BOOST_TEST(refused.error().message == "a valid authorization header is required");
  BOOST_TEST(runs.load() == 0);
  // The chain stops at the rejection: the interceptor after it never starts.
  BOOST_TEST(log->count(false, "start") == 0u);

  auto options = within();
  options.headers = {{"authorization", "secret"}};
  auto allowed = pair.caller().call<add_reply>("calc/add", add_request{1, 2}, options);
  BOOST_REQUIRE_MESSAGE(allowed.ok(), allowed.error().to_string());
  BOOST_TEST(allowed->sum == 3);
  BOOST_TEST(runs.load() == 1);
}

BOOST_AUTO_TEST_CASE(a_client_interceptor_rejection_keeps_the_call_from_going_out) {
  std::atomic<int> runs{0};
  rpc::node_options client_options;
  client_options.client_interceptors = {std::make_shared<gate>()};
  rpc_pair pair({}, client_options);
  pair.serve(observed_calc(runs));

  auto refused = pair.caller().call<add_reply>("calc/add", add_request{1, 2}, within());
  BOOST_TEST(refused.code() == errc::permission_denied);
  BOOST_TEST(refused.error().message == "a valid authorization header is required");
  auto options = within();
  options.headers = {{"authorization", "secret"}};
  auto allowed = pair.caller().call<add_reply>("calc/add", add_request{1, 2}, options);
  BOOST_REQUIRE_MESSAGE(allowed.ok(), allowed.error().to_string());
  // Only the allowed call reached the server.
  BOOST_TEST(runs.load() == 1);
}

BOOST_AUTO_TEST_CASE(a_server_interceptor_rejecting_a_message_ends_the_call_with_its_error) {
  std::atomic<int> runs{0};
  rpc::node_options server_options;
  server_options.server_interceptors = {std::make_shared<size_limit>(rpc::direction::received, 64),
                                        std::make_shared<size_limit>(rpc::direction::sent, 64)};
  rpc_pair pair(server_options);
  rpc::service s("sizes");
  s.unary<blob, add_reply>({"measure"},
                           [&](const blob& b, rpc::call_context&) -> result<add_reply> {
                             ++runs;
                             return add_reply{static_cast<int>(b.body.size())};
                           });
  s.unary<add_request, blob>({"inflate"},
                             [&](const add_request& r, rpc::call_context&) -> result<blob> {
                               ++runs;
                               return make_blob(static_cast<std::size_t>(r.a));
                             });
  pair.serve(std::move(s));

  auto small = pair.caller().call<add_reply>("sizes/measure", make_blob(4), within());
  BOOST_REQUIRE_MESSAGE(small.ok(), small.error().to_string());
  BOOST_TEST(small->sum == 4);
  // A request the interceptor refuses: the handler never gets it.
  auto large = pair.caller().call<add_reply>("sizes/measure", make_blob(1000), within());
  BOOST_TEST(large.code() == errc::resource_exhausted);
  BOOST_TEST(large.error().message == "message larger than the interceptor allows");
  BOOST_TEST(runs.load() == 1);
  // A response the interceptor refuses: the caller gets the refusal instead.
  auto inflated = pair.caller().call<blob>("sizes/inflate", add_request{1000, 0}, within());
  BOOST_TEST(inflated.code() == errc::resource_exhausted);
  BOOST_TEST(inflated.error().message == "message larger than the interceptor allows");
  auto modest = pair.caller().call<blob>("sizes/inflate", add_request{8, 0}, within());
  BOOST_REQUIRE_MESSAGE(modest.ok(), modest.error().to_string());
  BOOST_TEST(modest->body.size() == 8u);
  BOOST_TEST(eventually([&] { return pair.server_node->active_calls() == 0; }));
}

BOOST_AUTO_TEST_CASE(a_client_interceptor_rejecting_a_message_fails_the_call_with_its_error) {
  std::atomic<int> runs{0};
  rpc::node_options client_options;
  client_options.client_interceptors = {std::make_shared<size_limit>(rpc::direction::sent, 64)};
  rpc_pair pair({}, client_options);
  rpc::service s("sizes");
  s.unary<blob, add_reply>({"measure"},
                           [&](const blob& b, rpc::call_context&) -> result<add_reply> {
                             ++runs;
                             return add_reply{static_cast<int>(b.body.size())};
                           });
  pair.serve(std::move(s));

  auto large = pair.caller().call<add_reply>("sizes/measure", make_blob(1000), within());
  BOOST_TEST(large.code() == errc::resource_exhausted);
  BOOST_TEST(large.error().message == "message larger than the interceptor allows");
  auto small = pair.caller().call<add_reply>("sizes/measure", make_blob(4), within());
  BOOST_REQUIRE_MESSAGE(small.ok(), small.error().to_string());
  BOOST_TEST(runs.load() == 1);
}

BOOST_AUTO_TEST_SUITE_END()
