// A fixed set of threads that run blocking channel handlers. Work waits in an unbounded FIFO
// (its size is bounded by the peer's channel limits): a channel is queued, never dropped.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace duplex::detail {

class handler_pool {
 public:
  explicit handler_pool(std::size_t threads);
  ~handler_pool();  // stop()
  handler_pool(const handler_pool&) = delete;
  handler_pool& operator=(const handler_pool&) = delete;

  void submit(std::function<void()> job);
  // Runs what is queued, then joins the threads. Later submissions are dropped.
  void stop();

 private:
  void run();
  std::mutex mutex_;
  std::condition_variable work_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace duplex::detail
