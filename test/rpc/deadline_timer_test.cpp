// The timer behind every call's deadline (both ends): a callback runs once its time has come,
// however the times of earlier and cancelled callbacks lie, and a cancelled one never runs.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "runtime/rpc/deadline_timer.hpp"

using duplex::rpc::detail::deadline_timer;
using namespace std::chrono_literals;

namespace {

using clock = deadline_timer::clock;

// Bounds the wait so that a broken timer fails the test instead of hanging it; far below the
// far-away deadlines the tests schedule alongside.
constexpr auto patience = 10s;
constexpr auto far_away = 600s;

}  // namespace

BOOST_AUTO_TEST_SUITE(deadline_timer_behaviour)

BOOST_AUTO_TEST_CASE(a_callback_due_before_the_one_the_thread_waits_for_runs_first) {
  deadline_timer timer;
  std::atomic<bool> far_ran{false};
  timer.schedule(clock::now() + far_away, [&] { far_ran = true; });
  std::this_thread::sleep_for(20ms);  // the thread now waits for the far one
  std::promise<clock::time_point> near_ran;
  const auto due = clock::now() + 30ms;
  timer.schedule(due, [&] { near_ran.set_value(clock::now()); });
  auto ran = near_ran.get_future();
  BOOST_REQUIRE(ran.wait_for(patience) == std::future_status::ready);
  BOOST_TEST((ran.get() >= due));  // never early
  BOOST_TEST(!far_ran);
}

BOOST_AUTO_TEST_CASE(a_later_callback_runs_after_the_earlier_one_was_cancelled) {
  deadline_timer timer;
  std::atomic<bool> cancelled_ran{false};
  auto first = timer.schedule(clock::now() + 50ms, [&] { cancelled_ran = true; });
  timer.cancel(first);  // the thread may still wake at its time, and must find nothing to run
  std::promise<void> second_ran;
  timer.schedule(clock::now() + 200ms, [&] { second_ran.set_value(); });
  BOOST_REQUIRE(second_ran.get_future().wait_for(patience) == std::future_status::ready);
  BOOST_TEST(!cancelled_ran);
}

BOOST_AUTO_TEST_CASE(callbacks_run_in_the_order_of_their_times_not_of_scheduling) {
  deadline_timer timer;
  std::mutex mutex;
  std::vector<int> order;
  std::promise<void> all_ran;
  auto record = [&](int n) {
    std::lock_guard<std::mutex> lock(mutex);
    order.push_back(n);
    if (order.size() == 3) all_ran.set_value();
  };
  const auto now = clock::now();
  timer.schedule(now + 150ms, [&] { record(3); });
  timer.schedule(now + 100ms, [&] { record(2); });
  timer.schedule(now + 50ms, [&] { record(1); });
  BOOST_REQUIRE(all_ran.get_future().wait_for(patience) == std::future_status::ready);
  BOOST_TEST(order == (std::vector<int>{1, 2, 3}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
