// The example's three programs in one binary, and how they narrate.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/key_flags.hpp"

namespace events_example {

using namespace std::chrono_literals;

// A process of this example that is never stopped still ends by then.
inline constexpr std::chrono::seconds longest_life = 55s;

// Serves the event service on `endpoint` until SIGTERM or SIGINT. Returns the exit code.
int run_server(const std::string& endpoint, const duplex_examples::key_flags& keys);

// Subscribes as `name` and prints every event until SIGTERM or SIGINT, then cancels its
// subscription. Exits 0 when it received events 1..expected_events, in order.
int run_subscriber(const std::string& endpoint, const std::string& name,
                   std::int64_t expected_events, const duplex_examples::key_flags& keys);

// Starts a server and four subscribers as processes of `program` (this binary), publishes
// events while subscribers leave and crash, and checks what everyone saw. With keys.key, over
// CURVE: every process uses that key pair and the server lets in only its public key.
int run_driver(const std::string& program, const duplex_examples::key_flags& keys);

// "[who] text" on stdout, one whole line at a time from any thread.
void say(std::string_view who, std::string_view text);

}  // namespace events_example
