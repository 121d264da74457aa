// The event server: a subscription is a call that stays open; the server keeps the caller's
// callbacks and calls on_event on them for each published event, until the subscriber
// cancels, goes away or stops acknowledging.
#include <duplex/duplex.hpp>
#include <duplex/rpc.hpp>

#include <atomic>
#include <future>
#include <map>
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

constexpr const char* me = "server";
// A subscriber gets this long to acknowledge an event before it is dropped.
constexpr auto acknowledge_limit = 5s;

struct subscription {
  std::string subscriber;                   // its peer id
  duplex::rpc::remote_callbacks callbacks;  // valid while its subscribe call runs
};

// The active subscriptions, by id. Thread-safe: subscribe and publish handlers run at once.
class subscription_list {
 public:
  std::int64_t add(subscription s) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto id = ++last_id_;
    active_.emplace(id, std::move(s));
    return id;
  }

  // False when it was already gone.
  bool remove(std::int64_t id) {
    std::lock_guard<std::mutex> lock(mutex_);
    return active_.erase(id) > 0;
  }

  bool contains(std::int64_t id) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return active_.count(id) > 0;
  }

  std::map<std::int64_t, subscription> snapshot() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return active_;
  }

  std::int64_t size() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return static_cast<std::int64_t>(active_.size());
  }

 private:
  mutable std::mutex mutex_;
  std::int64_t last_id_ = 0;
  std::map<std::int64_t, subscription> active_;
};

// Whichever of the subscribe and the publish handler notices first tells what happened.
void end_subscription(subscription_list& subscriptions, std::int64_t id,
                      const std::string& what_happened) {
  if (subscriptions.remove(id))
    say(me, what_happened + "; active subscriptions: " + std::to_string(subscriptions.size()));
}

// Holds the call open until the subscriber cancels it or goes away, or a publish drops it; the
// callbacks stay callable for as long as it is open.
duplex::result<void> subscribe(subscription_list& subscriptions,
                               duplex::rpc::writer<subscribed>& out,
                               duplex::rpc::call_context& ctx) {
  auto id = subscriptions.add({ctx.peer_id(), ctx.callbacks()});
  say(me,
      ctx.peer_id() + " subscribed; active subscriptions: " + std::to_string(subscriptions.size()));
  if (auto confirmed = out.write(subscribed{subscriptions.size()}); !confirmed) {
    end_subscription(subscriptions, id, ctx.peer_id() + " could not be confirmed");
    return confirmed;
  }
  auto give_up = std::chrono::steady_clock::now() + longest_life;
  while (!ctx.wait_cancelled(50ms)) {
    // Ending the call tells the subscriber it no longer gets events.
    if (!subscriptions.contains(id))
      return duplex::error{duplex::errc::aborted, "dropped for not acknowledging an event"};
    if (std::chrono::steady_clock::now() >= give_up) {
      end_subscription(subscriptions, id, ctx.peer_id() + " timed out");
      return duplex::error{duplex::errc::deadline_exceeded, "the subscription lasted too long"};
    }
  }
  auto reason = ctx.cancel_reason();
  end_subscription(subscriptions, id, ctx.peer_id() + " left (" + reason.to_string() + ")");
  return reason;
}

// Calls every subscriber's on_event at once and waits for their acknowledgements; a
// subscriber that fails to acknowledge is dropped.
publish_reply publish(subscription_list& subscriptions, const event& e) {
  struct delivery {
    std::int64_t subscription_id;
    std::string subscriber;
    std::future<duplex::result<empty_message>> acknowledged;
  };
  duplex::rpc::call_options options;
  options.timeout = acknowledge_limit;
  std::vector<delivery> deliveries;
  for (auto& [id, target] : subscriptions.snapshot())
    deliveries.push_back(
        {id, target.subscriber,
         target.callbacks.call_async<empty_message>(on_event_callback, e, options)});

  publish_reply reply;
  for (auto& d : deliveries) {
    auto acknowledged = d.acknowledged.get();  // bounded by the call's timeout
    if (acknowledged)
      ++reply.delivered;
    else
      end_subscription(
          subscriptions, d.subscription_id,
          d.subscriber + " dropped: on_event failed (" + acknowledged.error().to_string() + ")");
  }
  return reply;
}

duplex::rpc::service event_service(subscription_list& subscriptions,
                                   std::atomic<std::int64_t>& published) {
  using duplex::rpc::call_context;
  duplex::rpc::service events("events", "Publish and subscribe, delivered by callbacks");
  events.server_stream<empty_message, subscribed>(
      {"subscribe", "Calls the caller's on_event for each event while the call is open"},
      [&](const empty_message&, duplex::rpc::writer<subscribed>& out, call_context& ctx) {
        return subscribe(subscriptions, out, ctx);
      });
  events.unary<event, publish_reply>(
      {"publish", "Delivers an event to every subscriber"},
      [&](const event& e, call_context&) -> duplex::result<publish_reply> {
        ++published;
        return publish(subscriptions, e);
      });
  events.unary<empty_message, server_stats>(
      {"stats", "Active subscriptions and events published"},
      [&](const empty_message&, call_context&) -> duplex::result<server_stats> {
        return server_stats{subscriptions.size(), published};
      });
  return events;
}

}  // namespace

int run_server(const std::string& endpoint, const duplex_examples::key_flags& keys) {
  catch_termination_signals();
  subscription_list subscriptions;
  std::atomic<std::int64_t> published{0};
  {
    duplex::runtime rt;
    duplex::peer_options options;
    options.peer_id = "events-server";
    keys.apply(options);  // it only binds
    duplex::peer self{rt, options};
    duplex::rpc::service_registry services;
    services.add(event_service(subscriptions, published)).value();
    duplex::rpc::node rpc{self, services};
    say(me, "listening on " + self.bind(endpoint).value());

    auto give_up = std::chrono::steady_clock::now() + longest_life;
    while (!termination_requested() && std::chrono::steady_clock::now() < give_up)
      std::this_thread::sleep_for(20ms);
    say(me, "stopping; active subscriptions: " + std::to_string(subscriptions.size()) +
                ", events published: " + std::to_string(published));
  }  // the node ends the subscriptions still open and waits for their handlers
  return 0;
}

}  // namespace events_example
