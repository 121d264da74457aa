// A FIFO that allocates nothing until its first element. A channel has several queues that
// are empty nearly always, and libstdc++'s std::deque allocates a 512-byte block even when
// empty: this keeps an idle channel small.
#pragma once

#include <deque>
#include <memory>
#include <utility>

namespace duplex::detail {

template <class T>
class lazy_fifo {
 public:
  bool empty() const noexcept { return !items_ || items_->empty(); }
  std::size_t size() const noexcept { return items_ ? items_->size() : 0; }
  void push_back(T value) {
    if (!items_) items_ = std::make_unique<std::deque<T>>();
    items_->push_back(std::move(value));
  }
  T& front() { return items_->front(); }
  void pop_front() { items_->pop_front(); }  // keeps its block: a busy queue is not re-allocated
  void clear() noexcept { items_.reset(); }
  // Takes every element out (nullptr when empty); the FIFO is empty afterwards.
  std::unique_ptr<std::deque<T>> take_all() noexcept { return std::move(items_); }
  // For erasing from the middle; nullptr when empty.
  std::deque<T>* items() noexcept { return items_.get(); }

 private:
  std::unique_ptr<std::deque<T>> items_;
};

}  // namespace duplex::detail
