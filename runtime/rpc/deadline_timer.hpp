// One thread that runs short callbacks at given times: call deadlines on both ends. Callbacks
// must not block (they cancel channels and wake waiters).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>

namespace duplex::rpc::detail {

class deadline_timer {
 public:
  using clock = std::chrono::steady_clock;
  using id = std::uint64_t;

  deadline_timer();
  ~deadline_timer();  // drops what has not run
  deadline_timer(const deadline_timer&) = delete;
  deadline_timer& operator=(const deadline_timer&) = delete;

  id schedule(clock::time_point when, std::function<void()> callback);
  // Removes a callback that has not run yet; a no-op otherwise.
  void cancel(id timer);

 private:
  // Shared with the thread, which may outlive the timer when its last owner lets go from
  // inside a callback (the thread is then detached and ends on its own).
  struct queue {
    std::mutex mutex;
    std::condition_variable changed;
    std::map<std::pair<clock::time_point, id>, std::function<void()>> due;
    std::unordered_map<id, clock::time_point> when;
    id last = 0;
    bool stopping = false;
    // When the thread will wake on its own: max while it waits for the first callback, min
    // while it is awake (it looks at `due` again before it waits). A callback due earlier must
    // wake it; any other needs no wake-up, so a call that schedules its deadline and cancels it
    // before it passes costs the thread nothing.
    clock::time_point wakes_at = clock::time_point::min();
  };
  static void run(std::shared_ptr<queue> q);

  std::shared_ptr<queue> queue_;
  std::thread thread_;
};

}  // namespace duplex::rpc::detail
