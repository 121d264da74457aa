// Handlers that throw: the caller gets `unknown` with the exception's message, and the peer
// and its other calls carry on.
#include <boost/test/unit_test.hpp>

#include "rpc/rpc_support.hpp"

using namespace duplex;
using namespace duplex::testing;

namespace {

rpc::service throwing_service() {
  rpc::service s("throws");
  s.unary<add_request, add_reply>({"unary"},
                                  [](const add_request&, rpc::call_context&) -> result<add_reply> {
                                    throw std::runtime_error("the handler gave up");
                                  });
  s.unary<add_request, add_reply>(
      {"odd"}, [](const add_request&, rpc::call_context&) -> result<add_reply> { throw 42; });
  s.server_stream<add_request, add_reply>(
      {"midway"},
      [](const add_request& r, rpc::writer<add_reply>& out, rpc::call_context&) -> result<void> {
        if (auto sent = out.write(add_reply{r.a}); !sent) return sent;
        throw std::logic_error("failed after the first response");
      });
  s.bidi<add_request, add_reply>({"echo"},
                                 [](rpc::reader<add_request>& in, rpc::writer<add_reply>& out,
                                    rpc::call_context&) -> result<void> {
                                   while (true) {
                                     auto next = in.read();
                                     if (!next) return next.error();
                                     if (!*next) return {};
                                     if (auto sent = out.write(add_reply{(*next)->a + (*next)->b});
                                         !sent)
                                       return sent;
                                   }
                                 });
  return s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(handler_failures)

BOOST_AUTO_TEST_CASE(a_throwing_handler_gives_unknown_with_its_message) {
  rpc_pair pair;
  pair.serve(throwing_service());
  auto r = pair.caller().call<add_reply>("throws/unary", add_request{}, within());
  BOOST_TEST(r.code() == errc::unknown);
  BOOST_TEST(r.error().message.find("the handler gave up") != std::string::npos);
  auto odd = pair.caller().call<add_reply>("throws/odd", add_request{}, within());
  BOOST_TEST(odd.code() == errc::unknown);
  BOOST_TEST(!odd.error().message.empty());
}

BOOST_AUTO_TEST_CASE(a_stream_whose_handler_throws_keeps_what_was_sent_before) {
  rpc_pair pair;
  pair.serve(throwing_service());
  auto call = pair.caller().server_stream<add_reply>("throws/midway", add_request{7, 0}, within());
  auto first = call.read();
  BOOST_REQUIRE_MESSAGE(first.ok(), first.error().to_string());
  BOOST_REQUIRE(first->has_value());
  BOOST_TEST((*first)->sum == 7);
  auto status = call.read();
  BOOST_TEST(status.code() == errc::unknown);
  BOOST_TEST(status.error().message.find("failed after the first response") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(other_calls_carry_on_while_a_handler_throws) {
  rpc_pair pair;
  pair.serve(throwing_service());
  pair.serve(calc_service());
  auto stream = pair.caller().bidi<add_request, add_reply>("throws/echo", within());
  BOOST_REQUIRE(stream.write(add_request{1, 2}).ok());
  auto before = stream.read();
  BOOST_REQUIRE_MESSAGE(before.ok(), before.error().to_string());
  BOOST_REQUIRE(before->has_value());
  BOOST_TEST((*before)->sum == 3);

  for (int i = 0; i < 20; ++i) {
    auto thrown = pair.caller().call<add_reply>("throws/unary", add_request{}, within());
    BOOST_TEST(thrown.code() == errc::unknown);
  }

  BOOST_REQUIRE(stream.write(add_request{3, 4}).ok());
  auto after = stream.read();
  BOOST_REQUIRE_MESSAGE(after.ok(), after.error().to_string());
  BOOST_REQUIRE(after->has_value());
  BOOST_TEST((*after)->sum == 7);
  BOOST_REQUIRE(stream.close_write().ok());
  auto end = stream.read();
  BOOST_REQUIRE_MESSAGE(end.ok(), end.error().to_string());
  BOOST_TEST(!end->has_value());

  auto sum = pair.caller().call<add_reply>("calc/add", add_request{20, 22}, within());
  BOOST_REQUIRE_MESSAGE(sum.ok(), sum.error().to_string());
  BOOST_TEST(sum->sum == 42);
  BOOST_TEST(pair.client.peers().size() == 1u);
  BOOST_TEST(eventually([&] { return pair.server_node->active_calls() == 0; }));
}

BOOST_AUTO_TEST_SUITE_END()
