#include "runtime/handler_pool.hpp"

#include <pthread.h>

#include <algorithm>

namespace duplex::detail {

handler_pool::handler_pool(std::size_t min_threads, std::size_t max_threads)
    : max_threads_(std::max(min_threads, max_threads)) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (std::size_t i = 0; i < min_threads; ++i) threads_.emplace_back([this] { run(); });
  if (max_threads_ > min_threads)
    supervisor_ = std::thread([this] {
      ::pthread_setname_np(::pthread_self(), "duplex-pool");
      supervise();
    });
}

handler_pool::~handler_pool() {
  stop();
}

void handler_pool::submit(std::function<void()> job) {
  bool none_idle;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    jobs_.push_back(std::move(job));
    none_idle = idle_ < jobs_.size();
  }
  work_.notify_one();
  // The supervisor watches for stalls only when no idle thread is there to take the job: a
  // wake-up per job would cost its thread a switch per call.
  if (none_idle) queued_.notify_one();
}

void handler_pool::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  work_.notify_all();
  queued_.notify_all();
  if (supervisor_.joinable()) supervisor_.join();
  // No thread is added once the supervisor is gone, so the list is stable here.
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  std::lock_guard<std::mutex> lock(mutex_);
  threads_.clear();
}

void handler_pool::run() {
  ::pthread_setname_np(::pthread_self(), "duplex-handler");
  while (true) {
    std::function<void()> job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      ++idle_;
      work_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      --idle_;
      if (jobs_.empty()) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
    job = nullptr;
    std::lock_guard<std::mutex> lock(mutex_);
    ++completed_;
  }
}

void handler_pool::supervise() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_ && threads_.size() < max_threads_) {
    if (jobs_.empty()) {
      queued_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      continue;
    }
    auto seen = completed_;
    queued_.wait_for(lock, stall_interval, [this] { return stopping_; });
    if (!stopping_ && !jobs_.empty() && completed_ == seen && idle_ == 0)
      threads_.emplace_back([this] { run(); });
  }
}

}  // namespace duplex::detail
