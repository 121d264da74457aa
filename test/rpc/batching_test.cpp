// A call's frames travel as one message each way, as a raw client on the wire sees them: a
// handler's response, its status trailers and the END leave together when it returns.
#include <boost/test/unit_test.hpp>

#include <map>
#include <string>

#include "../core/raw_client.hpp"
#include "rpc_support.hpp"

using namespace duplex;
using namespace duplex::testing;

namespace {

using frame_list = std::vector<std::pair<int, std::uint64_t>>;
constexpr int data_kind = 3, end_kind = 4, trailers_kind = 6;

// A raw client's unary call of calc/add on `channel`: OPEN, the request and END in one message.
void call_add(raw_client& raw, std::uint64_t channel) {
  msgpack::sbuffer request;
  msgpack::pack(request, add_request{2, 40});
  raw.send_raw(raw_client::frame(2, channel, 0, std::string("calc/add"),
                                 std::map<std::string, std::string>{}) +
               raw_client::data_frame(channel, std::string(request.data(), request.size())) +
               raw_client::frame(4, channel));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(batching)

BOOST_AUTO_TEST_CASE(a_pool_handlers_response_trailers_and_end_reach_the_caller_in_one_message) {
  runtime rt;
  peer server{rt};
  rpc::service_registry services;
  BOOST_REQUIRE(services.add(calc_service()).ok());  // may block: it runs on the handler pool
  rpc::node node(server, services);
  raw_client raw{*server.bind("tcp://127.0.0.1:0")};
  raw.hello("raw");
  BOOST_REQUIRE(raw.wait_for(1));
  for (std::uint64_t channel = 1; channel < 200; channel += 2) {  // the connecting side's ids
    call_add(raw, channel);
    auto frames = raw.message_with(data_kind);
    BOOST_REQUIRE(!frames.empty());
    BOOST_TEST((frames ==
                frame_list{{data_kind, channel}, {trailers_kind, channel}, {end_kind, channel}}));
  }
}

BOOST_AUTO_TEST_SUITE_END()
