// A FIFO that allocates nothing until its first element, then keeps its elements in one ring
// buffer that starts at two slots and doubles when full. A channel has several queues that are
// empty nearly always: libstdc++'s std::deque would take about 650 bytes (object, map and a
// 512-byte block) from the first element on, and keep them, which is most of what an idle
// channel that once received a message costs. A busy queue keeps its buffer: popping to empty
// does not free it, so a stream does not allocate per message.
#pragma once

#include <cstdint>
#include <memory>
#include <new>
#include <utility>

namespace duplex::detail {

template <class T>
class lazy_fifo {
 public:
  lazy_fifo() noexcept = default;
  lazy_fifo(lazy_fifo&& other) noexcept { steal(other); }
  lazy_fifo& operator=(lazy_fifo&& other) noexcept {
    if (this != &other) {
      clear();
      steal(other);
    }
    return *this;
  }
  lazy_fifo(const lazy_fifo&) = delete;
  lazy_fifo& operator=(const lazy_fifo&) = delete;
  ~lazy_fifo() { clear(); }

  bool empty() const noexcept { return size_ == 0; }
  std::size_t size() const noexcept { return size_; }

  void push_back(T value) {
    if (size_ == capacity_) grow();
    ::new (static_cast<void*>(slot(size_))) T(std::move(value));
    ++size_;
  }
  T& front() { return *slot(0); }
  void pop_front() {
    slot(0)->~T();
    head_ = (head_ + 1) & (capacity_ - 1);
    --size_;
  }
  // Destroys the elements and frees the buffer.
  void clear() noexcept {
    for (std::uint32_t i = 0; i < size_; ++i) slot(i)->~T();
    if (slots_) std::allocator<T>{}.deallocate(slots_, capacity_);
    slots_ = nullptr;
    capacity_ = head_ = size_ = 0;
  }
  // Takes every element out; this FIFO is empty (and unallocated) afterwards.
  lazy_fifo take_all() noexcept { return std::move(*this); }
  // Calls f(element) for each element, front first.
  template <class F>
  void for_each(F&& f) {
    for (std::uint32_t i = 0; i < size_; ++i) f(*slot(i));
  }
  // Removes the first element for which pred(element) holds, keeping the others' order.
  template <class Pred>
  bool erase_first(Pred&& pred) {
    for (std::uint32_t i = 0; i < size_; ++i) {
      if (!pred(*slot(i))) continue;
      for (std::uint32_t j = i; j + 1 < size_; ++j) *slot(j) = std::move(*slot(j + 1));
      slot(size_ - 1)->~T();
      --size_;
      return true;
    }
    return false;
  }

 private:
  T* slot(std::uint32_t i) const noexcept { return slots_ + ((head_ + i) & (capacity_ - 1)); }

  void grow() {
    const std::uint32_t bigger = capacity_ == 0 ? 2 : capacity_ * 2;
    T* fresh = std::allocator<T>{}.allocate(bigger);
    for (std::uint32_t i = 0; i < size_; ++i) {
      ::new (static_cast<void*>(fresh + i)) T(std::move(*slot(i)));
      slot(i)->~T();
    }
    if (slots_) std::allocator<T>{}.deallocate(slots_, capacity_);
    slots_ = fresh;
    capacity_ = bigger;
    head_ = 0;
  }

  void steal(lazy_fifo& other) noexcept {
    slots_ = std::exchange(other.slots_, nullptr);
    capacity_ = std::exchange(other.capacity_, 0);
    head_ = std::exchange(other.head_, 0);
    size_ = std::exchange(other.size_, 0);
  }

  T* slots_ = nullptr;
  std::uint32_t capacity_ = 0;  // 0 or a power of two
  std::uint32_t head_ = 0;
  std::uint32_t size_ = 0;
};

}  // namespace duplex::detail
