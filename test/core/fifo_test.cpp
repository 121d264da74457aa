// The queues every channel holds: lazy_fifo (the ring buffer behind the inbox, the write
// gate's waiters and the actor's outbound queue) and handoff_queue's terminal item. Readers
// rely on them for order, for nothing lost when a queue grows while wrapped around, and for
// each waiting reader seeing the end.
#include <boost/test/unit_test.hpp>

#include <memory>
#include <string>
#include <vector>

#include "actors/handoff_queue.hpp"
#include "actors/lazy_fifo.hpp"

using duplex::detail::handoff_queue;
using duplex::detail::lazy_fifo;

namespace {

// Counts live instances, so that a test sees every element destroyed exactly once.
struct tracked {
  static inline int live = 0;
  std::unique_ptr<int> value;
  explicit tracked(int v) : value(std::make_unique<int>(v)) { ++live; }
  tracked(tracked&& other) noexcept : value(std::move(other.value)) { ++live; }
  tracked& operator=(tracked&& other) noexcept {
    value = std::move(other.value);
    return *this;
  }
  ~tracked() { --live; }
};

std::vector<int> drain(lazy_fifo<tracked>& fifo) {
  std::vector<int> out;
  while (!fifo.empty()) {
    out.push_back(*fifo.front().value);
    fifo.pop_front();
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(channel_queues)

BOOST_AUTO_TEST_CASE(fifo_keeps_order_when_it_grows_while_wrapped_around) {
  {
    lazy_fifo<tracked> fifo;
    BOOST_TEST(fifo.empty());
    std::vector<int> expected;
    int next = 0;
    // Push three, pop two, repeatedly: the head walks round the ring as it doubles.
    for (int round = 0; round < 50; ++round) {
      for (int i = 0; i < 3; ++i) fifo.push_back(tracked(next++));
      for (int i = 0; i < 2; ++i) {
        BOOST_TEST(*fifo.front().value == static_cast<int>(expected.size()));
        expected.push_back(*fifo.front().value);
        fifo.pop_front();
      }
    }
    BOOST_TEST(fifo.size() == 50u);
    auto rest = drain(fifo);
    BOOST_TEST(rest.front() == 100);
    BOOST_TEST(rest.back() == 149);
    for (std::size_t i = 1; i < rest.size(); ++i) BOOST_TEST(rest[i] == rest[i - 1] + 1);
    fifo.push_back(tracked(7));  // still usable after draining
    BOOST_TEST(drain(fifo) == std::vector<int>{7});
  }
  BOOST_TEST(tracked::live == 0);
}

BOOST_AUTO_TEST_CASE(fifo_erases_one_element_from_the_middle_and_keeps_the_rest_in_order) {
  {
    lazy_fifo<tracked> fifo;
    for (int i = 0; i < 3; ++i) fifo.push_back(tracked(i));
    fifo.pop_front();  // wrap: the ring's head is no longer slot 0
    for (int i = 3; i < 6; ++i) fifo.push_back(tracked(i));
    BOOST_TEST(fifo.erase_first([](const tracked& t) { return *t.value == 3; }));
    BOOST_TEST(!fifo.erase_first([](const tracked& t) { return *t.value == 3; }));
    BOOST_TEST(tracked::live == 4);
    BOOST_TEST(drain(fifo) == (std::vector<int>{1, 2, 4, 5}));
  }
  BOOST_TEST(tracked::live == 0);
}

BOOST_AUTO_TEST_CASE(fifo_take_all_moves_every_element_and_leaves_it_empty) {
  {
    lazy_fifo<tracked> fifo;
    for (int i = 0; i < 5; ++i) fifo.push_back(tracked(i));
    auto taken = fifo.take_all();
    BOOST_TEST(fifo.empty());
    std::vector<int> seen;
    taken.for_each([&](tracked& t) { seen.push_back(*t.value); });
    BOOST_TEST(seen == (std::vector<int>{0, 1, 2, 3, 4}));
    fifo.push_back(tracked(9));
    BOOST_TEST(drain(fifo) == std::vector<int>{9});
    taken.clear();
    BOOST_TEST(taken.empty());
  }
  BOOST_TEST(tracked::live == 0);
}

BOOST_AUTO_TEST_CASE(queue_delivers_items_then_its_terminal_to_every_later_reader) {
  handoff_queue<std::string> queue;
  std::vector<std::string> seen;
  queue.pop_async([&](std::string s) { seen.push_back("waiting:" + s); });
  BOOST_TEST(queue.push("a"));
  BOOST_TEST(queue.push("b"));
  queue.close("end");
  BOOST_TEST(!queue.push("late"));  // refused once closed
  BOOST_TEST(*queue.try_pop() == "b");
  BOOST_TEST(*queue.try_pop() == "end");
  BOOST_TEST(*queue.pop(std::nullopt) == "end");
  queue.pop_async([&](std::string s) { seen.push_back("after:" + s); });
  BOOST_TEST(seen == (std::vector<std::string>{"waiting:a", "after:end"}));
}

BOOST_AUTO_TEST_CASE(queue_abort_drops_items_and_every_waiting_reader_sees_the_new_terminal) {
  handoff_queue<std::string> queue;
  std::vector<std::string> seen;
  for (int i = 0; i < 3; ++i) queue.pop_async([&](std::string s) { seen.push_back(s); });
  queue.close("end");
  BOOST_TEST(seen == (std::vector<std::string>{"end", "end", "end"}));

  handoff_queue<std::string> busy;
  busy.push("x");
  busy.close("end");
  busy.abort("cancelled");  // replaces the terminal and drops what was queued
  BOOST_TEST(*busy.try_pop() == "cancelled");
  BOOST_TEST(busy.size() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
