// The runtime: a CAF actor system (owned or the application's), the ZeroMQ context and the one
// transport thread that owns every socket, and the codec registry. Create it first, destroy
// it last: every peer and every channel handle must be destroyed before its runtime.
#pragma once

#include <functional>
#include <memory>

#include "duplex/codec.hpp"
#include "duplex/options.hpp"

namespace caf {
class actor_system;
class actor_system_config;
}  // namespace caf

namespace duplex {

namespace detail {
struct runtime_state;
}

class runtime {
 public:
  // Owns its actor system. `customize` runs on the configuration before the system starts:
  // the place to register the application's own message types and settings.
  explicit runtime(runtime_options options = {},
                   std::function<void(caf::actor_system_config&)> customize = nullptr);
  // Runs on an actor system the application owns (it must outlive the runtime). Duplex's
  // actors are hidden: the system's shutdown does not wait for them.
  explicit runtime(caf::actor_system& system, runtime_options options = {});
  ~runtime();  // stops the transport thread; never waits longer than the peers' linger
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  caf::actor_system& system();
  codec_registry& codecs();
  const runtime_options& options() const;

  // Applies Duplex's defaults to a configuration the application will start its own system
  // from: the scheduler's threads, idle workers that block (woken by the next message)
  // instead of polling with sleeps, which would add tens of microseconds to every hand-off,
  // and a scheduler whose clock thread is woken only by actors that use timeouts (CAF's wakes
  // it whenever any actor exits). Optional: Duplex needs no registered types.
  static void configure(caf::actor_system_config& config, const runtime_options& options = {});

  detail::runtime_state& state() { return *state_; }

 private:
  std::unique_ptr<detail::runtime_state> state_;
};

}  // namespace duplex
