// The actor face: a CAF application on its own actor system opens channels and reads them as
// typed messages, without blocking a worker.
#include <boost/test/unit_test.hpp>

#include <duplex/actor_face.hpp>

#include "support.hpp"

using namespace duplex;
using namespace duplex::testing;

namespace {

// An application message type, registered before the system starts.
struct greeting {
  std::string text;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, greeting& x) {
  return f(caf::meta::type_name("greeting"), x.text);
}

using got_atom = caf::atom_constant<caf::atom("got")>;

// Opens a channel to `service`, writes `count` messages, ends, and reports everything it reads
// to `report` as (got_atom, text) and finally (got_atom, "end:" + trailer "n").
caf::behavior client_actor(caf::event_based_actor* self, caf::actor peer_actor, caf::actor report,
                           int count) {
  self->request(peer_actor, caf::infinite, open_atom::value, std::string("echo"), metadata{})
      .then([=](caf::actor ch) {
        self->send(ch, subscribe_atom::value, caf::actor_cast<caf::actor>(self));
        for (int i = 0; i < count; ++i)
          self->request(ch, caf::infinite, write_atom::value, to_bytes("m" + std::to_string(i)))
              .then([] {});
        self->send(ch, trailers_atom::value, metadata{{"n", std::to_string(count)}});
        self->send(ch, end_atom::value);
      });
  return {
      [=](data_atom, caf::actor, const bytes& payload) {
        self->send(report, got_atom::value, to_string(payload));
      },
      [=](end_atom, caf::actor, const metadata& trailers) {
        auto it = trailers.find("n");
        self->send(report, got_atom::value, "end:" + (it == trailers.end() ? "" : it->second));
        self->quit();
      },
      [=](error_atom, caf::actor, std::uint32_t code, const std::string& message) {
        self->send(report, got_atom::value,
                   "error:" + std::string(to_string(errc_from_wire(code))) + ":" + message);
        self->quit();
      },
  };
}

}  // namespace

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<int>)

BOOST_AUTO_TEST_SUITE(actor_face)

BOOST_AUTO_TEST_CASE(actor_on_an_application_owned_system_streams_through_a_channel) {
  caf::actor_system_config config;
  runtime::configure(config);
  config.add_message_type<greeting>("greeting");  // the application's own types
  caf::actor_system system{config};
  {
    runtime rt{system};
    peer server{rt};
    server.handle("echo", [](channel ch) {
      while (auto msg = ch.read(wait_limit)) ch.write(*msg);
      ch.write_trailers(ch.meta().trailers);
      ch.close_write();
    });
    peer client{rt};
    BOOST_REQUIRE(client.connect(*server.bind("inproc://actor-face")));

    caf::scoped_actor report{system};
    constexpr int count = 50;
    system.spawn(client_actor, client.actor(), caf::actor{report}, count);
    std::vector<std::string> got;
    bool done = false;
    while (!done) {
      report->receive(
          [&](got_atom, const std::string& text) {
            got.push_back(text);
            done = text.rfind("end:", 0) == 0 || text.rfind("error:", 0) == 0;
          },
          caf::after(wait_limit) >> [&] { done = true; });
    }
    BOOST_REQUIRE_EQUAL(got.size(), static_cast<std::size_t>(count + 1));
    for (int i = 0; i < count; ++i) BOOST_TEST(got[i] == "m" + std::to_string(i));
    BOOST_TEST(got.back() == "end:" + std::to_string(count));
  }
  // The runtime is gone; the application's system still works and shuts down normally.
  caf::scoped_actor self{system};
  // (An argument: CAF 0.17 mishandles actors spawned without one, see scale_test.cpp.)
  auto echo = system.spawn(
      [](caf::event_based_actor*, std::string suffix) -> caf::behavior {
        return {[suffix](const greeting& g) { return greeting{g.text + suffix}; }};
      },
      std::string("!"));
  self->request(echo, wait_limit, greeting{"hi"})
      .receive([](const greeting& g) { BOOST_TEST(g.text == "hi!"); },
               [](caf::error&) { BOOST_ERROR("the application's actor did not answer"); });
  self->send_exit(echo, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_CASE(actor_subscriber_sees_an_error_as_a_typed_message) {
  runtime rt;
  peer server{rt};
  server.handle("echo", [](channel ch) {
    ch.read(wait_limit);
    ch.write_error(errc::permission_denied, "no");
  });
  peer client{rt};
  BOOST_REQUIRE(client.connect(*server.bind("tcp://127.0.0.1:0")));
  caf::scoped_actor report{rt.system()};
  rt.system().spawn(client_actor, client.actor(), caf::actor{report}, 1);
  std::string last;
  for (int i = 0; i < 2 && last.rfind("error:", 0) != 0; ++i)
    report->receive([&](got_atom, const std::string& text) { last = text; },
                    caf::after(wait_limit) >> [] {});
  BOOST_TEST(last == "error:permission_denied:no");
}

BOOST_AUTO_TEST_SUITE_END()
