#include "transport/socket_poller.hpp"

#include <cerrno>

namespace duplex::detail {

void socket_poller::clear() {
  slots_.clear();
  fds_.clear();
}

socket_poller::slot socket_poller::add_fd(int fd) {
  slots_.push_back({nullptr, true, false});
  fds_.push_back({fd, POLLIN, 0});
  return slots_.size() - 1;
}

socket_poller::slot socket_poller::add_socket(zmq::socket_t& socket) {
  // Ready at first: input may have come before the poller knew the socket.
  slots_.push_back({&socket, true, false});
  fds_.push_back({socket.get(zmq::sockopt::fd), POLLIN, 0});
  return slots_.size() - 1;
}

bool socket_poller::settle() {
  bool any_ready = false;
  for (auto& s : slots_) {
    if (s.sent_on && s.socket && !s.ready)
      s.ready = (s.socket->get(zmq::sockopt::events) & ZMQ_POLLIN) != 0;
    s.sent_on = false;
    any_ready = any_ready || s.ready;
  }
  return any_ready;
}

void socket_poller::recheck_all() {
  for (auto& s : slots_) s.sent_on = s.socket != nullptr;
}

bool socket_poller::wait(std::chrono::milliseconds timeout, std::unique_lock<std::mutex>& io) {
  const int ms = timeout.count() < 0 ? -1 : static_cast<int>(timeout.count());
  // Only the transport thread changes fds_ (clear/add): it may be read without the lock.
  io.unlock();
  const int n = ::poll(fds_.data(), fds_.size(), ms);
  io.lock();
  if (n <= 0) return false;  // timeout or EINTR: the loop comes round again
  for (std::size_t i = 0; i < fds_.size(); ++i)
    if (fds_[i].revents != 0) slots_[i].ready = true;  // POLLERR/POLLHUP: read and see
  return true;
}

}  // namespace duplex::detail
