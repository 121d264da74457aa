#include "transport/socket_poller.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>

#include "duplex/error.hpp"

namespace duplex::detail {

namespace {

int new_epoll_set() {
  const int fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) throw exception({errc::internal, "epoll_create1 failed"});
  return fd;
}

bool watch_fd(int epoll_fd, int fd, std::size_t slot) {
  epoll_event event{};
  event.events = EPOLLIN;  // level-triggered: a descriptor put back while readable reports
  event.data.u64 = slot;
  return ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event) == 0;
}

}  // namespace

socket_poller::socket_poller() : epoll_fd_(new_epoll_set()) {}

socket_poller::~socket_poller() {
  ::close(epoll_fd_);
}

void socket_poller::clear() {
  // A new set rather than removing each descriptor: some may be closed already.
  ::close(epoll_fd_);
  epoll_fd_ = new_epoll_set();
  slots_.clear();
  ++generation_;
}

socket_poller::slot socket_poller::add(zmq::socket_t* socket, int fd) {
  // Ready at first: input may have come before the poller knew the socket.
  slots_.push_back({socket, fd, true, false, false});
  if (!watch_fd(epoll_fd_, fd, slots_.size() - 1))
    throw exception({errc::internal, "epoll_ctl failed"});
  return slots_.size() - 1;
}

socket_poller::slot socket_poller::add_fd(int fd) {
  return add(nullptr, fd);
}

socket_poller::slot socket_poller::add_socket(zmq::socket_t& socket) {
  return add(&socket, socket.get(zmq::sockopt::fd));
}

void socket_poller::lend(slot s) {
  if (slots_[s].lent) return;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, slots_[s].fd, nullptr);
  slots_[s].lent = true;
}

bool socket_poller::take_back(slot s) {
  if (!slots_[s].lent) return true;
  slots_[s].lent = false;
  return watch_fd(epoll_fd_, slots_[s].fd, s);
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
  constexpr int max_events = 16;  // more are reported by the next wait, which does not sleep
  epoll_event events[max_events];
  // The set changes only under the lock; a borrower may change it while this sleeps, which
  // epoll allows.
  const int epoll_fd = epoll_fd_;
  io.unlock();
  const int n = ::epoll_wait(epoll_fd, events, max_events, ms);
  io.lock();
  if (n <= 0) return false;  // timeout or EINTR: the loop comes round again
  for (int i = 0; i < n; ++i) {
    const auto s = static_cast<slot>(events[i].data.u64);
    if (s < slots_.size()) slots_[s].ready = true;  // EPOLLERR/EPOLLHUP: read and see
  }
  return true;
}

}  // namespace duplex::detail
