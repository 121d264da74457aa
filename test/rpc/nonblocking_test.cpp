// Unary handlers registered as nonblocking: they run on the I/O thread when their whole
// request is in, on the handler pool otherwise, and fail like any other handler.
#include <pthread.h>
#include <boost/test/unit_test.hpp>

#include <msgpack.hpp>

#include "rpc_support.hpp"

using namespace duplex;
using namespace duplex::testing;

namespace {

std::string this_thread_name() {
  char name[16] = {};
  ::pthread_getname_np(::pthread_self(), name, sizeof name);
  return name;
}

// "calc/add", recording the name of each thread it ran on.
struct recording_adder {
  std::mutex mutex;
  std::vector<std::string> threads;

  rpc::service service(rpc::handler_mode mode) {
    rpc::service calc("calc");
    calc.unary<add_request, add_reply>(
        {"add"},
        [this](const add_request& r, rpc::call_context&) -> result<add_reply> {
          std::lock_guard<std::mutex> lock(mutex);
          threads.push_back(this_thread_name());
          return add_reply{r.a + r.b};
        },
        mode);
    return calc;
  }
  std::size_t count(const std::string& name) {
    std::lock_guard<std::mutex> lock(mutex);
    return static_cast<std::size_t>(std::count(threads.begin(), threads.end(), name));
  }
};

bytes packed(const add_request& request) {
  msgpack::sbuffer buffer;
  msgpack::pack(buffer, request);
  return bytes(buffer.data(), buffer.data() + buffer.size());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(nonblocking_handlers)

BOOST_AUTO_TEST_CASE(a_nonblocking_handler_with_its_whole_request_in_runs_on_the_io_thread) {
  rpc_pair pair;
  recording_adder adder;
  pair.serve(adder.service(rpc::handler_mode::nonblocking));
  for (int i = 0; i < 20; ++i) {
    auto reply = pair.caller().call<add_reply>("calc/add", add_request{i, 1}, within());
    BOOST_REQUIRE_MESSAGE(reply, reply.error().to_string());
    BOOST_TEST(reply->sum == i + 1);
  }
  // A small request's OPEN, DATA and END come in one batch unless the caller was interrupted
  // between them; only then does the handler go to the pool.
  BOOST_TEST(adder.count("duplex-io") >= 1u);
  BOOST_TEST(adder.count("duplex-io") + adder.count("duplex-handler") == 20u);
}

BOOST_AUTO_TEST_CASE(a_nonblocking_handler_whose_request_is_not_all_in_runs_on_the_pool) {
  rpc_pair pair;
  recording_adder adder;
  pair.serve(adder.service(rpc::handler_mode::nonblocking));
  auto ch = pair.client.open("calc/add");
  BOOST_REQUIRE(ch.write(packed(add_request{20, 22})));
  // The handler starts with the request but not its end; it must be able to wait for it.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  BOOST_REQUIRE(ch.close_write());
  auto reply = ch.read(wait_limit);
  BOOST_REQUIRE_MESSAGE(reply.is_message(), reply.error().to_string());
  auto sum = msgpack::unpack(reinterpret_cast<const char*>(reply->data()), reply->size())
                 .get()
                 .as<add_reply>();
  BOOST_TEST(sum.sum == 42);
  BOOST_REQUIRE(ch.read(wait_limit).is_end());
  BOOST_TEST(adder.count("duplex-handler") == 1u);
  BOOST_TEST(adder.count("duplex-io") == 0u);
}

BOOST_AUTO_TEST_CASE(a_handler_that_may_block_never_runs_on_the_io_thread) {
  rpc_pair pair;
  recording_adder adder;
  pair.serve(adder.service(rpc::handler_mode::may_block));
  for (int i = 0; i < 20; ++i)
    BOOST_REQUIRE(pair.caller().call<add_reply>("calc/add", add_request{i, 1}, within()));
  BOOST_TEST(adder.count("duplex-handler") == 20u);
}

BOOST_AUTO_TEST_CASE(a_nonblocking_handler_that_throws_fails_its_call_and_spares_the_io_thread) {
  rpc_pair pair;
  rpc::service calc("calc");
  calc.unary<add_request, add_reply>(
      {"add"},
      [](const add_request& r, rpc::call_context&) -> result<add_reply> {
        if (r.a < 0) throw std::runtime_error("negative");
        return add_reply{r.a + r.b};
      },
      rpc::handler_mode::nonblocking);
  pair.serve(std::move(calc));
  for (int i = 0; i < 5; ++i) {
    auto failed = pair.caller().call<add_reply>("calc/add", add_request{-1, 1}, within());
    BOOST_REQUIRE(!failed);
    BOOST_TEST(failed.error().code == errc::unknown, failed.error().to_string());
    BOOST_TEST(failed.error().message.find("negative") != std::string::npos);
    auto fine = pair.caller().call<add_reply>("calc/add", add_request{2, 3}, within());
    BOOST_REQUIRE_MESSAGE(fine, fine.error().to_string());
    BOOST_TEST(fine->sum == 5);
  }
}

BOOST_AUTO_TEST_CASE(a_nonblocking_completion_runs_where_the_reply_arrives_and_may_call_again) {
  rpc_pair pair;
  recording_adder adder;
  pair.serve(adder.service(rpc::handler_mode::nonblocking));
  rpc::call_options options = within();
  options.nonblocking_completion = true;
  // A chain of calls, each made from the previous one's completion.
  constexpr int chain = 20;
  std::mutex mutex;
  std::vector<std::string> threads;
  std::vector<int> sums;
  std::promise<void> done;
  std::function<void(int)> next = [&](int i) {
    pair.caller().call_async<add_reply>("calc/add", add_request{i, 1}, options,
                                        [&, i](result<add_reply> reply) {
                                          {
                                            std::lock_guard<std::mutex> lock(mutex);
                                            threads.push_back(this_thread_name());
                                            sums.push_back(reply ? reply->sum : -1);
                                          }
                                          if (i + 1 < chain)
                                            next(i + 1);
                                          else
                                            done.set_value();
                                        });
  };
  next(0);
  BOOST_REQUIRE((done.get_future().wait_for(wait_limit) == std::future_status::ready));
  std::lock_guard<std::mutex> lock(mutex);
  for (int i = 0; i < chain; ++i) BOOST_TEST(sums[static_cast<std::size_t>(i)] == i + 1);
  BOOST_TEST(std::count(threads.begin(), threads.end(), "duplex-io") >= 1);
  for (auto& name : threads) BOOST_TEST(name.rfind("caf.", 0) != 0, name);  // never an actor's
}

BOOST_AUTO_TEST_CASE(an_ordinary_completion_never_runs_on_the_io_thread) {
  rpc_pair pair;
  recording_adder adder;
  pair.serve(adder.service(rpc::handler_mode::nonblocking));
  for (int i = 0; i < 10; ++i) {
    std::promise<std::pair<bool, std::string>> ran;
    pair.caller().call_async<add_reply>(
        "calc/add", add_request{i, 1}, within(), [&](result<add_reply> reply) {
          ran.set_value({reply.ok() && reply->sum == i + 1, this_thread_name()});
        });
    auto outcome = ran.get_future();
    BOOST_REQUIRE((outcome.wait_for(wait_limit) == std::future_status::ready));
    auto [answered, where] = outcome.get();
    BOOST_TEST(answered);
    BOOST_TEST(where != "duplex-io");
  }
}

BOOST_AUTO_TEST_SUITE_END()
