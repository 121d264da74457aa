// The scheduler's rotation over the remote peers that completed HELLO. The peer actor changes
// who is in it; the scheduler actor and threads that open channels themselves take turns from
// it, so that an open needs no actor round trip.
#pragma once

#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

namespace duplex::detail {

class round_robin {
 public:
  void add(const std::string& id) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (std::find(ready_.begin(), ready_.end(), id) == ready_.end()) ready_.push_back(id);
  }

  void remove(const std::string& id) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = std::find(ready_.begin(), ready_.end(), id);
    if (it == ready_.end()) return;
    auto index = static_cast<std::size_t>(it - ready_.begin());
    ready_.erase(it);
    // Keep the rotation where it was: peers after the removed one move down by one.
    if (index < next_) --next_;
  }

  // The next ready peer in turn; empty when there is none.
  std::string pick() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (ready_.empty()) return {};
    if (next_ >= ready_.size()) next_ = 0;
    return ready_[next_++];
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> ready_;  // in the order they came up
  std::size_t next_ = 0;
};

}  // namespace duplex::detail
