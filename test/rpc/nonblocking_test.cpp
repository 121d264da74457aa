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

BOOST_AUTO_TEST_SUITE_END()
