// Waits on ZeroMQ sockets and plain file descriptors for the transport thread, at a fraction
// of zmq_poll's system calls.
//
// zmq_poll asks every socket for ZMQ_EVENTS on every round, before and after it sleeps, and
// each ask costs libzmq a poll() and a getpid() on the socket's mailbox: with a few sockets
// that is a dozen system calls per round trip of a message. This poller sleeps in one
// epoll_wait() on the sockets' ZMQ_FDs instead, and asks a socket for ZMQ_EVENTS only when
// libzmq's rules say its FD may not tell the truth: after the transport sent on it.
//
// ZMQ_FD is edge-triggered: it signals that the socket's commands need processing, and any
// operation on the socket may process them, taking the signal with it. So a slot is `ready`
// (read it until EAGAIN) when its FD signalled or when a read stopped early; a slot the
// transport `sent_on` is asked for ZMQ_EVENTS before the loop sleeps.
//
// A socket's slot can be lent to another thread (transport::lead): it leaves the epoll set,
// so that the sleeping transport thread is not woken by what that thread waits for itself.
//
// Not thread-safe: used under the transport's socket lock.
#pragma once

#include <zmq.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

namespace duplex::detail {

class socket_poller {
 public:
  using slot = std::size_t;

  socket_poller();
  ~socket_poller();
  socket_poller(const socket_poller&) = delete;
  socket_poller& operator=(const socket_poller&) = delete;

  // Forgets every slot (the sockets changed); slots added next are ready at first. Lent slots
  // are forgotten too: generation() tells their borrower.
  void clear();
  slot add_fd(int fd);
  slot add_socket(zmq::socket_t& socket);
  std::uint64_t generation() const { return generation_; }
  int fd(slot s) const { return slots_[s].fd; }

  // A send on the socket may have taken the signal of input waiting on it.
  void sent_on(slot s) { slots_[s].sent_on = true; }
  bool ready(slot s) const { return slots_[s].ready; }
  void mark_ready(slot s) { slots_[s].ready = true; }
  // After reading the slot: `more` when the read stopped before EAGAIN.
  void read(slot s, bool more) { slots_[s].ready = more; }

  // Takes the slot's descriptor out of the set wait() sleeps on, and puts it back (false if
  // the kernel refused: the caller has the sockets watched anew). A borrower gives it back
  // before clear() or in the same generation only.
  void lend(slot s);
  bool take_back(slot s);

  // Asks the sockets sent on for ZMQ_EVENTS: true when any slot is ready then.
  bool settle();
  // Has settle() ask every socket, as zmq_poll does each round: a safety net against a signal
  // lost to an operation this poller did not see, run when a wait timed out.
  void recheck_all();
  // One epoll_wait(): sleeps up to `timeout` (negative: no limit; zero: only looks), then
  // marks the slots whose descriptor signalled ready. `io` (the transport's socket lock) is
  // let go while it sleeps, so that another thread may send meanwhile. False when nothing
  // signalled.
  bool wait(std::chrono::milliseconds timeout, std::unique_lock<std::mutex>& io);

 private:
  struct slot_state {
    zmq::socket_t* socket = nullptr;  // null: a plain descriptor
    int fd = -1;
    bool ready = true;
    bool sent_on = false;
    bool lent = false;
  };
  slot add(zmq::socket_t* socket, int fd);

  int epoll_fd_ = -1;
  std::uint64_t generation_ = 0;
  std::vector<slot_state> slots_;
};

}  // namespace duplex::detail
