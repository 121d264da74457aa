// CAF actors as services (export_actor) and remote services as actors (remote_actor).
#include <boost/test/unit_test.hpp>

#include <duplex/rpc/actors.hpp>

#include "rpc/rpc_support.hpp"

using namespace duplex;
using namespace duplex::testing;

namespace {

struct sum_request {
  int a = 0;
  int b = 0;
  MSGPACK_DEFINE_MAP(a, b)
};

struct sum_reply {
  int sum = 0;
  MSGPACK_DEFINE_MAP(sum)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sum_request& x) {
  return f(caf::meta::type_name("sum_request"), x.a, x.b);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sum_reply& x) {
  return f(caf::meta::type_name("sum_reply"), x.sum);
}

using add_atom = caf::atom_constant<caf::atom("add")>;
using crash_atom = caf::atom_constant<caf::atom("crash")>;
using calc_actor = caf::typed_actor<caf::replies_to<add_atom, sum_request>::with<sum_reply>,
                                    caf::replies_to<crash_atom, sum_request>::with<sum_reply>>;

// The unused name: CAF 0.17 misbehaves spawning function-based actors without arguments.
calc_actor::behavior_type calc(const std::string& /*name*/) {
  return {
      [](add_atom, const sum_request& r) -> caf::result<sum_reply> {
        if (r.a < 0) return rpc::to_caf_error({errc::invalid_argument, "a is negative"});
        return sum_reply{r.a + r.b};
      },
      [](crash_atom, const sum_request&) -> caf::result<sum_reply> {
        throw std::runtime_error("the calculator broke");
      },
  };
}

rpc::actor_methods calc_methods() {
  rpc::actor_methods methods;
  methods.add<add_atom, sum_request, sum_reply>({"add", "Adds", "SumRequest", "SumReply"});
  methods.add<crash_atom, sum_request, sum_reply>({"crash", "Stops the actor"});
  return methods;
}

// Both peers share one runtime whose actor system knows the message types.
struct actor_pair {
  runtime rt{runtime_options{}, [](caf::actor_system_config& cfg) {
               cfg.add_message_type<sum_request>("sum_request");
               cfg.add_message_type<sum_reply>("sum_reply");
             }};
  peer server{rt, with_id("server")};
  peer client{rt, with_id("client")};
  rpc::service_registry server_services;
  rpc::service_registry client_services;
  std::optional<rpc::node> server_node;
  std::optional<rpc::node> client_node;

  actor_pair() {
    auto endpoint = server.bind("tcp://127.0.0.1:0");
    BOOST_REQUIRE(endpoint.ok());
    server_node.emplace(server, server_services);
    client_node.emplace(client, client_services);
    BOOST_REQUIRE(client.connect(*endpoint).ok());
    BOOST_REQUIRE(eventually([&] { return !client.peers().empty(); }));
  }
  ~actor_pair() {
    client_node.reset();
    server_node.reset();
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(actors)

BOOST_AUTO_TEST_CASE(an_exported_typed_actor_answers_calls_and_its_errors_keep_their_code) {
  actor_pair f;
  auto actor = f.rt.system().spawn(calc, std::string("calc"));
  BOOST_REQUIRE(f.server_services.add(rpc::export_actor("calc", actor, calc_methods())).ok());
  auto reply = f.client_node->call<sum_reply>("calc/add", sum_request{20, 22});
  BOOST_REQUIRE_MESSAGE(reply.ok(), reply.error().to_string());
  BOOST_TEST(reply->sum == 42);
  auto refused = f.client_node->call<sum_reply>("calc/add", sum_request{-1, 0});
  BOOST_TEST(refused.code() == errc::invalid_argument);
  BOOST_TEST(refused.error().message == "a is negative");
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_CASE(a_dying_actor_fails_the_call_with_unknown_and_the_peer_carries_on) {
  actor_pair f;
  auto actor = f.rt.system().spawn(calc, std::string("calc"));
  BOOST_REQUIRE(f.server_services.add(rpc::export_actor("calc", actor, calc_methods())).ok());
  auto crashed = f.client_node->call<sum_reply>("calc/crash", sum_request{});
  BOOST_TEST(crashed.code() == errc::unknown);
  BOOST_TEST(crashed.error().message.find("actor failed") != std::string::npos);
  auto after = f.client_node->call<sum_reply>("calc/add", sum_request{1, 1});
  BOOST_TEST(after.code() == errc::unknown);  // the actor is gone: each call says so
  f.server_services.add(
      rpc::export_actor("calc", f.rt.system().spawn(calc, std::string("calc")), calc_methods()));
  BOOST_TEST(f.client_node->call<sum_reply>("calc/add", sum_request{1, 1})->sum == 2);
}

BOOST_AUTO_TEST_CASE(a_remote_service_is_called_from_actor_code_like_a_local_actor) {
  actor_pair f;
  auto actor = f.rt.system().spawn(calc, std::string("calc"));
  BOOST_REQUIRE(f.server_services.add(rpc::export_actor("calc", actor, calc_methods())).ok());
  auto remote = rpc::remote_actor(*f.client_node, "calc", calc_methods());
  caf::scoped_actor self{f.rt.system()};
  std::optional<int> sum;
  self->request(remote, caf::duration{wait_limit}, add_atom::value, sum_request{40, 2})
      .receive([&](sum_reply& r) { sum = r.sum; },
               [&](caf::error& e) { BOOST_FAIL(f.rt.system().render(e)); });
  BOOST_TEST(sum.value_or(-1) == 42);
  std::optional<error> failure;
  self->request(remote, caf::duration{wait_limit}, add_atom::value, sum_request{-5, 0})
      .receive([&](sum_reply&) { BOOST_FAIL("expected an error"); },
               [&](caf::error& e) { failure = rpc::to_error(f.rt.system(), e); });
  BOOST_REQUIRE(failure.has_value());
  BOOST_TEST(failure->code == errc::invalid_argument);
  BOOST_TEST(failure->message == "a is negative");
  // From an event-based actor, with .then(), many at once.
  std::promise<int> total;
  f.rt.system().spawn(
      [&total](caf::event_based_actor* a, const caf::actor& remote) {
        auto sum = std::make_shared<int>(0);
        auto left = std::make_shared<int>(100);
        for (int i = 0; i < 100; ++i)
          a->request(remote, std::chrono::seconds(5), add_atom::value, sum_request{i, 0})
              .then([sum, left, &total](sum_reply& r) {
                *sum += r.sum;
                if (--*left == 0) total.set_value(*sum);
              });
      },
      remote);
  auto result = total.get_future();
  BOOST_REQUIRE(result.wait_for(wait_limit) == std::future_status::ready);
  BOOST_TEST(result.get() == 4950);
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_SUITE_END()
