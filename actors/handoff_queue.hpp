// A queue that hands items from an actor to application threads: blocking pops with a
// deadline, non-blocking pops, and asynchronous pops whose callbacks are stored (no thread per
// waiting reader). Once closed with a terminal item, every later pop gets a copy of it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "actors/lazy_fifo.hpp"
#include "transport/transport.hpp"

namespace duplex::detail {

using clock = std::chrono::steady_clock;

// Work a producer hands elsewhere instead of running it on its own thread: readers' callbacks
// when the producer is the transport thread, which must never run application code.
using deferred_calls = std::vector<std::function<void()>>;

// A pop_async() callback that neither blocks nor waits: a producer that defers the others may
// run it itself (after letting go of its locks), on its own thread.
template <class T>
struct nonblocking_callback {
  std::function<void(T)> run;
  void operator()(T item) { run(std::move(item)); }
};

// Where a blocked reader's items come from, so that it may read them off the socket itself
// (transport::lead) rather than be woken by the transport thread.
struct read_source {
  std::shared_ptr<transport> net;
  connection_id conn = 0;
};

template <class T>
class handoff_queue {
 public:
  using callback = std::function<void(T)>;

  // Producer side. Returns false when already closed (the item is dropped by the caller's
  // choice: a closed queue has a terminal item readers will see instead).
  // Wake-ups of blocked readers come after the lock is let go: a reader woken on another
  // core (or preempting this thread on its own) then does not block again on the mutex.
  bool push(T item) {
    callback waiting;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (terminal_) return false;
      if (waiters_.empty()) {
        items_.push_back(std::move(item));
        wake_leader_locked();
      } else {
        waiting = std::move(waiters_.front());
        waiters_.pop_front();
      }
    }
    if (!waiting) {
      ready_.notify_one();
      return true;
    }
    waiting(std::move(item));  // outside the lock: the callback may read again
    return true;
  }

  // push() for several items under one lock, then, with `then_close`, close() under the same
  // lock (readers wake once, to the items and the end). Returns false when already closed.
  // With `deferred`, callbacks of waiting readers are added to it instead of run here, except
  // nonblocking ones, which go to `here` when given. Without `wake_now`, the caller calls
  // wake_readers() itself later (after letting go of its own locks).
  bool push_all(std::vector<T>& items, deferred_calls* deferred = nullptr,
                deferred_calls* here = nullptr, std::optional<T> then_close = std::nullopt,
                bool wake_now = true) {
    std::vector<std::pair<callback, T>> handed;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (terminal_) return false;
      std::size_t next = 0;
      for (; next < items.size() && !waiters_.empty(); ++next) {
        handed.emplace_back(std::move(waiters_.front()), std::move(items[next]));
        waiters_.pop_front();
      }
      for (; next < items.size(); ++next) items_.push_back(std::move(items[next]));
      if (!items_.empty() || then_close) wake_leader_locked();
      if (then_close) {
        terminal_ = std::make_unique<T>(std::move(*then_close));
        for (; !waiters_.empty(); waiters_.pop_front())  // only waiting when items_ is empty
          handed.emplace_back(std::move(waiters_.front()), *terminal_);
      }
    }
    if (wake_now) ready_.notify_all();
    items.clear();
    for (auto& [waiting, item] : handed) {
      if (deferred)
        destination(waiting, deferred, here)
            ->push_back(
                [w = std::move(waiting), i = std::move(item)]() mutable { w(std::move(i)); });
      else
        waiting(std::move(item));  // outside the lock
    }
    return true;
  }

  // Ends the queue: queued items are still delivered first, then `terminal` forever.
  // A second close is ignored. With `deferred` (and `here`), as in push_all().
  void close(T terminal, deferred_calls* deferred = nullptr, deferred_calls* here = nullptr) {
    lazy_fifo<callback> waiting;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (terminal_) return;
      terminal_ = std::make_unique<T>(std::move(terminal));
      wake_leader_locked();
      waiting = waiters_.take_all();  // only waiting when items_ is empty
      if (deferred) {
        // Each with its own copy, taken here: a later abort() may replace the terminal.
        for (; !waiting.empty(); waiting.pop_front())
          destination(waiting.front(), deferred, here)
              ->push_back([w = std::move(waiting.front()), item = *terminal_]() mutable {
                w(std::move(item));
              });
      }
    }
    ready_.notify_all();
    notify(waiting);
  }

  // Like close(), but drops queued items and replaces an earlier terminal: for cancellation,
  // after which nothing more may be seen.
  void abort(T terminal) {
    lazy_fifo<callback> waiting;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      items_.clear();
      terminal_ = std::make_unique<T>(std::move(terminal));
      wake_leader_locked();
      waiting = waiters_.take_all();
    }
    ready_.notify_all();
    notify(waiting);
  }

  // Wakes readers blocked in pop() (after a push_all() without `wake_now`; a reader that
  // leads was woken already).
  void wake_readers() { ready_.notify_all(); }

  bool closed() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return terminal_ != nullptr;
  }

  // Consumer side. nullopt when the deadline passed first. With a `source`, a reader that has
  // to wait leads (see read_source) when it may, and waits as usual when it may not.
  std::optional<T> pop(std::optional<clock::time_point> deadline,
                       std::optional<read_source> source = std::nullopt) {
    transport::release_held_sends();  // what this thread holds may be what it waits for
    std::unique_lock<std::mutex> lock(mutex_);
    auto has_item = [&] { return !items_.empty() || terminal_ != nullptr; };
    // One leader per queue; it registers its waker under the lock, so that a producer that
    // pushes after it looked wakes it.
    const int waker = source ? source->net->leader_waker() : -1;
    while (waker >= 0 && !has_item() && leader_ < 0) {
      if (deadline && clock::now() >= *deadline) return std::nullopt;
      leader_ = waker;
      lock.unlock();
      const bool led = source->net->lead(source->conn, deadline);
      lock.lock();
      leader_ = -1;
      if (!led) break;
    }
    if (deadline) {
      if (!ready_.wait_until(lock, *deadline, has_item)) return std::nullopt;
    } else {
      ready_.wait(lock, has_item);
    }
    return take(lock);
  }

  std::optional<T> try_pop() {
    std::unique_lock<std::mutex> lock(mutex_);
    if (items_.empty() && !terminal_) return std::nullopt;
    return take(lock);
  }

  // Runs `cb` with the next item: now, on this thread, if one is there; otherwise later, on the
  // producer's thread.
  void pop_async(callback cb) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (items_.empty() && !terminal_) {
      waiters_.push_back(std::move(cb));
      return;
    }
    auto item = take(lock);
    lock.unlock();
    cb(std::move(item));
  }

  std::size_t size() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return items_.size();
  }

 private:
  static deferred_calls* destination(const callback& waiting, deferred_calls* deferred,
                                     deferred_calls* here) {
    return here && waiting.template target<nonblocking_callback<T>>() ? here : deferred;
  }

  // Hands the terminal item to readers that were waiting when the queue closed. Outside the
  // lock (a callback may read again), each with its own copy taken under it: a later abort()
  // may replace the terminal meanwhile.
  void notify(lazy_fifo<callback>& waiting) {
    while (!waiting.empty()) {
      auto next = std::move(waiting.front());
      waiting.pop_front();
      std::unique_lock<std::mutex> lock(mutex_);
      T item = *terminal_;
      lock.unlock();
      next(std::move(item));
    }
  }

  T take(std::unique_lock<std::mutex>&) {
    if (items_.empty()) return *terminal_;
    T item = std::move(items_.front());
    items_.pop_front();
    return item;
  }

  // Wakes the reader that leads, if any. Under the lock: the reader cannot have returned, so
  // its transport (and the waker) is still there.
  void wake_leader_locked() {
    if (leader_ >= 0) transport::wake_leader(leader_);
  }

  mutable std::mutex mutex_;
  std::condition_variable ready_;
  int leader_ = -1;  // guarded by mutex_: the waker of the reader that leads
  lazy_fifo<T> items_;
  lazy_fifo<callback> waiters_;
  std::unique_ptr<T> terminal_;  // a pointer: an open queue pays 8 bytes for it, not sizeof(T)
};

}  // namespace duplex::detail
