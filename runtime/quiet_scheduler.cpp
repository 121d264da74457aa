#include "runtime/quiet_scheduler.hpp"

#include <pthread.h>
#include <caf/actor_system.hpp>
#include <caf/defaults.hpp>
#include <caf/detail/thread_safe_actor_clock.hpp>
#include <caf/logger.hpp>
#include <caf/policy/work_sharing.hpp>
#include <caf/policy/work_stealing.hpp>
#include <caf/scheduler/coordinator.hpp>

#include <mutex>
#include <thread>
#include <unordered_set>

namespace duplex::detail {

namespace {

// Remembers which actors set a timeout: only their exit has anything for the clock thread
// to cancel. Timeouts are set and cancelled by the actor itself, so an actor's entry cannot
// change between the check and the cancellation.
class quiet_clock final : public caf::detail::thread_safe_actor_clock {
 public:
  using super = caf::detail::thread_safe_actor_clock;

  void set_ordinary_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                            std::uint64_t id) override {
    note(self);
    super::set_ordinary_timeout(t, self, type, id);
  }
  void set_request_timeout(time_point t, caf::abstract_actor* self, caf::message_id id) override {
    note(self);
    super::set_request_timeout(t, self, id);
  }
  void set_multi_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                         std::uint64_t id) override {
    note(self);
    super::set_multi_timeout(t, self, type, id);
  }
  void cancel_timeouts(caf::abstract_actor* self) override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (with_timeouts_.erase(self->id()) == 0) return;
    }
    super::cancel_timeouts(self);
  }

 private:
  void note(caf::abstract_actor* self) {
    std::lock_guard<std::mutex> lock(mutex_);
    with_timeouts_.insert(self->id());
  }

  std::mutex mutex_;
  std::unordered_set<caf::actor_id> with_timeouts_;
};

// The coordinator's own clock member is private and its thread is started by start(): that
// clock stays unused (its thread sleeps without waking), and this one runs on a thread of its
// own, stopped after the workers.
template <class Policy>
class quiet_coordinator final : public caf::scheduler::coordinator<Policy> {
 public:
  using super = caf::scheduler::coordinator<Policy>;
  explicit quiet_coordinator(caf::actor_system& system) : super(system) {}

  caf::detail::thread_safe_actor_clock& clock() noexcept override { return clock_; }

 protected:
  void start() override {
    timer_ = std::thread([this] {
      caf::logger::set_current_actor_system(&this->system());
      this->system().thread_started();
      clock_.run_dispatch_loop();
      this->system().thread_terminates();
    });
    // Named from here, so that it has its name once the system exists.
    ::pthread_setname_np(timer_.native_handle(), "duplex-clock");
    super::start();
  }
  void stop() override {
    super::stop();
    clock_.cancel_dispatch_loop();
    timer_.join();
  }

 private:
  quiet_clock clock_;
  std::thread timer_;
};

}  // namespace

void use_quiet_scheduler(caf::actor_system_config& config) {
  config.module_factories.push_back([](caf::actor_system& system) -> caf::actor_system::module* {
    auto policy =
        caf::get_or(system.config(), "scheduler.policy", caf::defaults::scheduler::policy);
    if (policy == caf::atom("sharing"))
      return new quiet_coordinator<caf::policy::work_sharing>(system);
    return new quiet_coordinator<caf::policy::work_stealing>(system);
  });
}

}  // namespace duplex::detail
