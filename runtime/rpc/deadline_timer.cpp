#include "runtime/rpc/deadline_timer.hpp"

#include <pthread.h>

namespace duplex::rpc::detail {

deadline_timer::deadline_timer()
    : queue_(std::make_shared<queue>()), thread_([q = queue_] {
        ::pthread_setname_np(::pthread_self(), "duplex-timer");
        run(q);
      }) {}

deadline_timer::~deadline_timer() {
  std::map<std::pair<clock::time_point, id>, std::function<void()>> dropped;
  {
    std::lock_guard<std::mutex> lock(queue_->mutex);
    queue_->stopping = true;
    dropped.swap(queue_->due);
  }
  queue_->changed.notify_all();
  if (thread_.get_id() == std::this_thread::get_id())
    thread_.detach();
  else
    thread_.join();
}

deadline_timer::id deadline_timer::schedule(clock::time_point when,
                                            std::function<void()> callback) {
  std::lock_guard<std::mutex> lock(queue_->mutex);
  auto timer = ++queue_->last;
  queue_->due.emplace(std::make_pair(when, timer), std::move(callback));
  queue_->when.emplace(timer, when);
  if (when < queue_->wakes_at) queue_->changed.notify_all();
  return timer;
}

void deadline_timer::cancel(id timer) {
  std::function<void()> dropped;  // destroyed after the lock: it may own call state
  std::lock_guard<std::mutex> lock(queue_->mutex);
  auto it = queue_->when.find(timer);
  if (it == queue_->when.end()) return;
  auto entry = queue_->due.find({it->second, timer});
  if (entry != queue_->due.end()) {
    dropped = std::move(entry->second);
    queue_->due.erase(entry);
  }
  queue_->when.erase(it);
}

void deadline_timer::run(std::shared_ptr<queue> q) {
  std::unique_lock<std::mutex> lock(q->mutex);
  while (!q->stopping) {
    if (q->due.empty()) {
      q->wakes_at = clock::time_point::max();
      q->changed.wait(lock);
      q->wakes_at = clock::time_point::min();
      continue;
    }
    auto next = q->due.begin();
    if (clock::now() < next->first.first) {
      // A copy: wait_until reads its time point after waking, when cancel() may have erased
      // the entry. Cancelled entries do not wake the thread: it finds them gone when it wakes.
      auto when = next->first.first;
      q->wakes_at = when;
      q->changed.wait_until(lock, when);
      q->wakes_at = clock::time_point::min();
      continue;
    }
    auto callback = std::move(next->second);
    q->when.erase(next->first.second);
    q->due.erase(next);
    lock.unlock();
    callback();
    callback = nullptr;
    lock.lock();
  }
}

}  // namespace duplex::rpc::detail
