// The event service as its server, its subscribers and its publishers see it.
//
//   events/subscribe  empty_message -> stream of subscribed   (stays open while subscribed;
//                     the caller passes the callback on_event: event -> empty_message)
//   events/publish    event         -> publish_reply
//   events/stats      empty_message -> server_stats
#pragma once

#include <duplex/rpc.hpp>

#include <cstdint>
#include <string>

namespace events_example {

inline constexpr const char* subscribe_method = "events/subscribe";
inline constexpr const char* publish_method = "events/publish";
inline constexpr const char* stats_method = "events/stats";
inline constexpr const char* on_event_callback = "on_event";

struct event {
  std::int64_t sequence = 0;
  std::string text;
  MSGPACK_DEFINE_MAP(sequence, text)
};

// The subscribe stream's one message: the subscription is in place.
struct subscribed {
  std::int64_t subscriptions = 0;  // active ones, this one included
  MSGPACK_DEFINE_MAP(subscriptions)
};

struct publish_reply {
  std::int64_t delivered = 0;  // subscribers whose on_event acknowledged the event
  MSGPACK_DEFINE_MAP(delivered)
};

struct server_stats {
  std::int64_t subscriptions = 0;
  std::int64_t published = 0;
  MSGPACK_DEFINE_MAP(subscriptions, published)
};

}  // namespace events_example
