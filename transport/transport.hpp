// The ZeroMQ transport: one thread per runtime owns every socket (ZeroMQ sockets are not
// thread-safe). Bound endpoints share one ROUTER per owner; each connected endpoint gets its
// own DEALER. Other threads talk to it through a queue and an eventfd; it reports to each
// owner through transport_events. Nothing outside transport/ includes zmq.hpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "codec/frame.hpp"
#include "duplex/error.hpp"
#include "duplex/security.hpp"

namespace duplex::detail {

// One ZeroMQ-level connection: a DEALER's current connection or one routing id on a ROUTER.
// Unique within a transport and never reused: a DEALER that reconnects gets a new id.
using connection_id = std::uint64_t;
using owner_id = std::uint64_t;

// Callbacks from the transport thread. They must not block (they post to actors).
class transport_events {
 public:
  virtual ~transport_events() = default;
  // A connected endpoint finished the ZeroMQ handshake: the owner should send HELLO.
  virtual void on_connection_up(connection_id conn, const std::string& endpoint) = 0;
  // The remote's public key as CURVE authenticated it; comes before the connection's first
  // frames (after on_connection_up for connected endpoints). Not called without CURVE.
  virtual void on_authenticated(connection_id conn, const std::string& public_key) = 0;
  // A connected endpoint's handshake failed (refused credentials, wrong server key, another
  // security mechanism...): unauthenticated or unavailable. ZeroMQ keeps retrying it.
  virtual void on_connect_failed(const std::string& endpoint, duplex::error reason) = 0;
  // A decoded batch. PING frames were already answered and are not included. Small DATA
  // payloads are borrowed from the received message (wire::frame::borrowed): valid during this
  // call only, own_payload() keeps one.
  virtual void on_frames(connection_id conn, std::vector<wire::frame> frames) = 0;
  // The connection is gone (disconnect, heartbeat timeout, or an undecodable batch: then
  // `reason` is internal and the transport already ignores the connection).
  virtual void on_connection_down(connection_id conn, duplex::error reason) = 0;
};

struct socket_settings {
  std::chrono::milliseconds heartbeat_interval{5000};
  std::chrono::milliseconds heartbeat_timeout{15000};
  std::chrono::milliseconds reconnect_interval{100};
  std::chrono::milliseconds reconnect_interval_max{5000};
  std::chrono::milliseconds handshake_interval{5000};
  std::int64_t max_message_size = -1;  // ZMQ_MAXMSGSIZE backstop
  wire::decode_limits limits{};
  security_options security{};
};

class transport {
 public:
  explicit transport(int io_threads);
  ~transport();  // stops the thread; sockets close with their owners' linger
  transport(const transport&) = delete;
  transport& operator=(const transport&) = delete;

  // All members below are thread-safe. The blocking ones wait for the transport thread.
  owner_id add_owner(std::shared_ptr<transport_events> events, socket_settings settings);
  // Sends what is queued, closes the owner's sockets with `linger`, and forgets the owner.
  void remove_owner(owner_id owner, std::chrono::milliseconds linger);

  // Returns the endpoint actually bound (port 0 and ipc wildcards resolved).
  result<std::string> bind(owner_id owner, const std::string& endpoint);
  result<void> unbind(owner_id owner, const std::string& endpoint);
  // `server_key`: the bound peer's CURVE public key (empty: the owner's default).
  result<void> connect(owner_id owner, const std::string& endpoint, std::string server_key = {});
  result<void> disconnect(owner_id owner, const std::string& endpoint);

  // Queues encoded frames for a connection; never blocks. Frames queued together or in quick
  // succession for the same connection leave in one ZeroMQ message (a batch). `data_cost` is
  // the credit their DATA frames cost: they wait here while the remote's connection window
  // (announced in its HELLO, reopened by CREDIT on channel 0) is used up.
  void send(connection_id conn, std::string encoded_frames, std::size_t data_cost = 0);
  // send() for a few frames the caller encoded into a buffer it keeps: they are copied.
  void send_copy(connection_id conn, const char* encoded_frames, std::size_t size,
                 std::size_t data_cost = 0);
  // For CREDIT frames only: they may overtake frames held back by the connection window
  // (otherwise two peers whose windows are both used up would wait for each other forever).
  void send_credit(connection_id conn, std::string encoded_frames);
  // Stops delivering frames from a connection (after BYE). The ZeroMQ connection stays open
  // (libzmq cannot close one connection of a ROUTER); a DEALER's endpoint stays dead until the
  // application disconnects and reconnects it. (A connection that fails its heartbeats is
  // different: a DEALER then starts over with a new connection.)
  void close_connection(connection_id conn);

  // Holding sends: between hold_sends() and end_hold() (nested pairs: the outermost end),
  // what this thread sends (any transport; not send_credit) is held back in the queue, and
  // goes to the transport thread in one piece when the hold ends: one wake-up, and frames
  // written one after another (a call's OPEN, request and END) leave in one ZeroMQ message.
  // A thread that waits for anything while holding must release_held_sends() first; Duplex's
  // own blocking waits do. That release sends the frames on the releasing thread when the
  // transport thread sleeps (the releasing thread is about to wait anyway).
  static void hold_sends();
  static void end_hold();
  static void release_held_sends();

  // Leading: a thread about to block until something comes from connection `conn` may read
  // that connection's socket itself while the transport thread sleeps, so that what it waits
  // for needs no hand-off from the transport thread. False at once when it may not (the
  // transport thread is busy, another thread leads, the connection is unknown): the caller
  // then waits as usual. Otherwise it sleeps until the socket has input, the deadline passes
  // or wake_leader(leader_waker()) is called, reads the socket (its frames are delivered as
  // the transport thread would, on this thread), and returns true: the caller looks whether
  // what it waits for came, and may lead again.
  bool lead(connection_id conn, std::optional<std::chrono::steady_clock::time_point> deadline);
  // Whether this thread sent a frame (other than CREDIT) since it last asked: a read about to
  // wait leads only then, when it most likely waits for the answer (a call's reply, a
  // ping-pong). Asking clears it.
  static bool take_sent_since_read();
  // Whether a thread sleeps in lead() now (waits for the transport thread's round to end).
  bool has_leader() const;
  // What wakes this transport's leader, and waking it: for whoever delivers what a leader may
  // wait for, while the leader cannot have returned (under the lock it looks under).
  int leader_waker() const;
  static void wake_leader(int waker);

  class impl;  // public for the thread's held sends only; defined in transport.cpp

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace duplex::detail
