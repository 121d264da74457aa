// A subscriber: one call to events/subscribe that passes the on_event callback and stays open
// while subscribed; cancelling the call is how it unsubscribes. SIGUSR1 asks it to
// unsubscribe and keep running, SIGTERM or SIGINT to unsubscribe and exit.
#include <duplex/duplex.hpp>
#include <duplex/rpc.hpp>

#include <atomic>
#include <csignal>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/process.hpp"
#include "events.hpp"
#include "modes.hpp"

using namespace duplex_examples;  // child_process, termination signals

namespace events_example {

namespace {

using duplex::rpc::empty_message;

std::atomic<bool> unsubscribe_requested{false};

void on_unsubscribe_signal(int) {
  unsubscribe_requested = true;
}

// The sequence numbers received, in arrival order. Thread-safe: callbacks run on the
// peer's handler threads.
class inbox {
 public:
  void add(std::int64_t sequence) {
    std::lock_guard<std::mutex> lock(mutex_);
    received_.push_back(sequence);
  }
  std::vector<std::int64_t> received() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return received_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::int64_t> received_;
};

std::shared_ptr<duplex::rpc::callback_set> event_callbacks(const std::string& name, inbox& events) {
  auto callbacks = std::make_shared<duplex::rpc::callback_set>("subscriber");
  callbacks->unary<event, empty_message>(
      {on_event_callback, "Receives one published event"},
      [name, &events](const event& e, duplex::rpc::call_context&) -> duplex::result<empty_message> {
        events.add(e.sequence);
        say(name, "got #" + std::to_string(e.sequence) + " '" + e.text + "'");
        return empty_message{};  // the acknowledgement
      });
  return callbacks;
}

// Returns why the subscriber leaves: it was told to, or the subscription ended without it.
std::string stay_subscribed(duplex::rpc::server_stream_call<subscribed>& subscription) {
  auto give_up = std::chrono::steady_clock::now() + longest_life;
  while (std::chrono::steady_clock::now() < give_up) {
    if (unsubscribe_requested) return "asked to unsubscribe, it cancels its subscription";
    if (termination_requested()) return "asked to stop, it cancels its subscription";
    // Nothing more arrives on the stream while the subscription lasts: a short read that
    // times out means it still does.
    auto next = subscription.read(20ms);
    if (next.code() == duplex::errc::deadline_exceeded) continue;
    if (!next) return "its subscription ended: " + next.error().to_string();
    if (!*next) return "the server ended its subscription";
  }
  return "it lived its longest life";
}

bool received_all_in_order(const std::vector<std::int64_t>& received, std::int64_t expected) {
  if (received.size() != static_cast<std::size_t>(expected)) return false;
  for (std::int64_t i = 0; i < expected; ++i)
    if (received[i] != i + 1) return false;
  return true;
}

std::string describe(const std::vector<std::int64_t>& sequences) {
  std::string text;
  for (auto s : sequences) text += (text.empty() ? "" : " ") + std::to_string(s);
  return text.empty() ? "nothing" : text;
}

}  // namespace

int run_subscriber(const std::string& endpoint, const std::string& name,
                   std::int64_t expected_events, const duplex_examples::key_flags& keys) {
  catch_termination_signals();
  std::signal(SIGUSR1, on_unsubscribe_signal);
  inbox events;
  {
    duplex::runtime rt;
    duplex::peer_options options;
    options.peer_id = name;
    auto connect = keys.apply(options);
    duplex::peer self{rt, options};
    duplex::rpc::service_registry no_services;  // it serves nothing but its callbacks
    duplex::rpc::node rpc{self, no_services};
    self.connect(endpoint, connect).value();

    duplex::rpc::call_options subscribe_options;
    subscribe_options.callbacks = event_callbacks(name, events);
    subscribe_options.timeout = longest_life;
    auto subscription =
        rpc.server_stream<subscribed>(subscribe_method, empty_message{}, subscribe_options);
    auto confirmation = subscription.read(10s);
    if (!confirmation || !*confirmation) {
      say(name, "FAILED: no subscription: " + (confirmation ? std::string("it ended at once")
                                                            : confirmation.error().to_string()));
      return 1;
    }
    say(name,
        "subscribed; active subscriptions: " + std::to_string((*confirmation)->subscriptions));
    say(name, "leaves: " + stay_subscribed(subscription));
    subscription.cancel();
    // Unsubscribed, not stopped: it keeps running (and its connection open) until told to.
    auto give_up = std::chrono::steady_clock::now() + longest_life;
    while (!termination_requested() && std::chrono::steady_clock::now() < give_up)
      std::this_thread::sleep_for(20ms);
  }

  auto received = events.received();
  if (!received_all_in_order(received, expected_events)) {
    say(name, "FAILED: expected events 1.." + std::to_string(expected_events) +
                  " in order, received " + describe(received));
    return 1;
  }
  say(name, "received events 1.." + std::to_string(expected_events) + ", all in order");
  return 0;
}

}  // namespace events_example
