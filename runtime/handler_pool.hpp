// Threads that run blocking channel handlers. `min_threads` run from the start; when queued
// work makes no progress for a while (every thread is blocked, e.g. in handlers that wait on
// each other as RPC callbacks do), one more thread is added, up to `max_threads`. A burst of
// quick jobs adds none. Work waits in an unbounded FIFO (its size is bounded by the peer's
// channel limits): a channel is queued, never dropped.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace duplex::detail {

class handler_pool {
 public:
  handler_pool(std::size_t min_threads, std::size_t max_threads);
  ~handler_pool();  // stop()
  handler_pool(const handler_pool&) = delete;
  handler_pool& operator=(const handler_pool&) = delete;

  void submit(std::function<void()> job);
  // Runs what is queued, then joins the threads. Later submissions are dropped.
  void stop();

  // How long queued work may make no progress before a thread is added.
  static constexpr std::chrono::milliseconds stall_interval{20};

 private:
  void run();
  void supervise();

  std::mutex mutex_;
  std::condition_variable work_;
  std::condition_variable queued_;  // wakes the supervisor
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::size_t idle_ = 0;
  std::uint64_t completed_ = 0;
  const std::size_t max_threads_;
  std::vector<std::thread> threads_;
  std::thread supervisor_;
};

}  // namespace duplex::detail
