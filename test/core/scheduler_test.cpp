// The actor system a runtime makes: CAF's timeouts and delayed messages work as before, and
// actors that never set a timeout exit without waking the clock thread.
#include <boost/test/unit_test.hpp>

#include <caf/all.hpp>

#include "support.hpp"

using namespace duplex;
using namespace duplex::testing;

namespace {

using ping_atom = caf::atom_constant<caf::atom("ping")>;

// Spawns `n` actors that each run `body` once and exit, and waits until all have exited.
// Actors here take an (unused) argument: CAF 0.17 binds a reference to a null tuple when a
// function actor has none, which the sanitizer build reports.
template <class Body>
void spawn_and_await(caf::actor_system& system, int n, Body body) {
  caf::scoped_actor self{system};
  for (int i = 0; i < n; ++i) {
    auto worker = system.spawn(body, 0);
    self->monitor(worker);
  }
  for (int i = 0; i < n; ++i)
    self->receive([](const caf::down_msg&) {},
                  caf::after(wait_limit) >> [] { BOOST_FAIL("an actor did not exit"); });
}

}  // namespace

BOOST_AUTO_TEST_SUITE(scheduler)

BOOST_AUTO_TEST_CASE(receive_timeouts_request_timeouts_and_delayed_messages_still_fire) {
  runtime rt;
  auto& system = rt.system();
  caf::scoped_actor self{system};
  // A behavior's timeout.
  auto idle = system.spawn(
      [](caf::event_based_actor* me, int) -> caf::behavior {
        return {caf::after(std::chrono::milliseconds(20)) >> [me] { me->quit(); }};
      },
      0);
  self->monitor(idle);
  bool exited = false;
  self->receive([&](const caf::down_msg&) { exited = true; }, caf::after(wait_limit) >> [] {});
  BOOST_TEST(exited);
  // A request's timeout, to an actor that never answers.
  auto silent = system.spawn(
      [](int) -> caf::behavior {
        return {[](ping_atom) { return caf::delegated<void>(); }};  // nobody will answer
      },
      0);
  bool timed_out = false;
  self->request(silent, std::chrono::milliseconds(20), ping_atom::value)
      .receive([] {}, [&](caf::error& e) { timed_out = e == caf::sec::request_timeout; });
  BOOST_TEST(timed_out);
  caf::anon_send_exit(silent, caf::exit_reason::user_shutdown);
  // A delayed message.
  self->delayed_send(self, std::chrono::milliseconds(20), ping_atom::value);
  bool delivered = false;
  self->receive([&](ping_atom) { delivered = true; }, caf::after(wait_limit) >> [] {});
  BOOST_TEST(delivered);
}

BOOST_AUTO_TEST_CASE(actors_exiting_without_timeouts_leave_the_clock_thread_asleep) {
  runtime rt;
  auto& system = rt.system();
  const long before = context_switches_of("duplex-clock");
  BOOST_REQUIRE(before >= 0);
  spawn_and_await(system, 500, [](int) {});  // each exits at once
  const long after_quiet = context_switches_of("duplex-clock");
  // A few for the thread's own start; CAF's clock woke twice per exiting actor.
  BOOST_TEST(after_quiet - before < 20);
  // The measure can see wake-ups: an actor that sets a timeout wakes the clock thread. One at
  // a time, each given time to show (on a loaded machine the clock may take several requests
  // in one wake-up, and run late).
  int woken = 0;
  long seen = after_quiet;
  for (int i = 0; i < 20; ++i) {
    spawn_and_await(system, 1, [](caf::event_based_actor* me, int) -> caf::behavior {
      me->send(me, ping_atom::value);
      return {[me](ping_atom) { me->quit(); }, caf::after(std::chrono::seconds(3600)) >> [] {}};
    });
    if (eventually([&] { return context_switches_of("duplex-clock") > seen; },
                   std::chrono::milliseconds(500)))
      ++woken;
    seen = context_switches_of("duplex-clock");
  }
  BOOST_TEST(woken >= 10);
}

BOOST_AUTO_TEST_SUITE_END()
