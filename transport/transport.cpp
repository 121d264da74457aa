#include "transport/transport.hpp"

#include "transport/socket_poller.hpp"
#include "transport/zap_handler.hpp"

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <zmq.hpp>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>

namespace duplex::detail {

namespace {

// Batches stop growing past this size; a single larger frame still goes alone.
constexpr std::size_t batch_soft_limit = 256u << 10;
// Below this, copying a batch into a ZeroMQ message is cheaper than handing it over.
constexpr std::size_t zero_copy_threshold = 8u << 10;
// Messages taken from one socket before the loop looks at the others (fairness).
constexpr int receive_burst = 256;

using clock = std::chrono::steady_clock;

// The ZAP domain of an owner's CURVE server socket.
std::string zap_domain_of(owner_id owner) {
  return "duplex-" + std::to_string(owner);
}

// What a failed handshake of a connected endpoint means to the channels waiting for it.
duplex::error handshake_failure(const std::string& endpoint, std::uint16_t event, int value) {
  std::string where = "the handshake with '" + endpoint + "' failed";
  if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
    return {errc::unauthenticated, where + ": the server refused this peer's key (ZAP status " +
                                       std::to_string(value) + ")"};
  if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
    if (value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
      return {errc::unauthenticated, where +
                                         ": the two sides use different security mechanisms "
                                         "(CURVE on one side only?)"};
    if (value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC)
      return {errc::unauthenticated, where + ": CURVE cryptographic error (wrong server key?)"};
    char code[16];
    std::snprintf(code, sizeof code, "0x%08x", static_cast<unsigned>(value));
    return {errc::unavailable, where + ": ZMTP protocol error " + code};
  }
  return {errc::unavailable, where + " (no detail; wrong server key or a refused client?)"};
}

duplex::error zmq_failure(const std::string& what, const std::string& endpoint, int err) {
  errc code = errc::internal;
  switch (err) {
    case EINVAL:
    case EPROTONOSUPPORT:
    case ENOCOMPATPROTO:
    case ENODEV:
      code = errc::invalid_argument;
      break;
    case EADDRINUSE:
      code = errc::already_exists;
      break;
    case EADDRNOTAVAIL:
    case ENAMETOOLONG:
    case ENOENT:
      code = errc::invalid_argument;
      break;
    default:
      break;
  }
  return {code, what + " '" + endpoint + "': " + zmq_strerror(err)};
}

bool has_transport_prefix(const std::string& endpoint) {
  for (const char* prefix : {"tcp://", "ipc://", "inproc://"})
    if (endpoint.rfind(prefix, 0) == 0 && endpoint.size() > std::string(prefix).size()) return true;
  return false;
}

// libzmq silently truncates tcp ports above 65535; check what it does not.
bool valid_tcp_port(const std::string& endpoint) {
  auto colon = endpoint.rfind(':');
  if (colon == std::string::npos || colon + 1 >= endpoint.size()) return false;
  auto port = endpoint.substr(colon + 1);
  if (port == "*") return true;
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) return false;
  return std::stoul(port) <= 65535;
}

result<void> check_endpoint(const std::string& endpoint) {
  if (!has_transport_prefix(endpoint))
    return duplex::error{errc::invalid_argument,
                         "endpoint '" + endpoint + "' must start with tcp://, ipc:// or inproc://"};
  if (endpoint.rfind("tcp://", 0) == 0 && !valid_tcp_port(endpoint))
    return duplex::error{errc::invalid_argument,
                         "endpoint '" + endpoint + "' needs a port from 0 to 65535 (or *)"};
  return {};
}

// A place in a connection's send queue kept for the frames a thread holds (hold_sends()):
// frames queued after it, by any thread, wait behind it until the holder lets go. So holding
// never reorders a connection's frames: OPENs, whose ids must rise on the wire in the order
// they were allocated, in particular.
struct reservation {
  std::string frames;     // appended by the holding thread only, until complete
  std::size_t cost = 0;   // connection credit of its DATA frames
  bool complete = false;  // guarded by the transport's queue mutex
};

struct outgoing_frames {
  connection_id conn;
  std::string encoded;  // owned frames, or empty: `staged_size` bytes of the staged buffer
  std::size_t staged_at;
  std::size_t staged_size;
  std::size_t cost;  // connection credit its DATA frames take
  bool bypass;       // order-free frames (CREDIT): never wait behind the backlog
  std::shared_ptr<reservation> reserved = nullptr;  // frames still held (see reservation)
};

// What a thread holds (transport::hold_sends): its reservations, for one transport at a time.
struct held_sends {
  int depth = 0;
  transport::impl* owner = nullptr;
  std::vector<std::pair<connection_id, std::shared_ptr<reservation>>> reservations;
};

// What the transport knows of the current thread. One thread_local rather than several: in a
// shared library each one costs a __tls_get_addr call, and a stream's writer pays per message.
struct thread_role {
  held_sends held;
  bool transport_thread = false;
  // Set while this thread does the loop's work for it (transport::lead): like the transport
  // thread, it neither holds its sends nor wakes the loop for them, and it sends them itself.
  bool doing_loop_work = false;
  // It queued a frame (not a CREDIT) since its last read: a read that must wait now likely
  // waits for the answer, which is worth leading for (transport::lead). A reader that only
  // reads, a stream's, is kept by the transport thread: leading per batch cost it more than
  // the hand-off it saved.
  bool sent_since_read = false;
  // The waker of the transport it leads for, while it reads: what it delivers itself needs no
  // wake-up.
  int leading_with = -1;
};
thread_local thread_role this_thread;

// The transport's eventfds (its wake-up, its leader's): one write makes the descriptor
// readable; one read takes every write since.
void signal_eventfd(int fd) {
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(fd, &one, sizeof one);
}
void drain_eventfd(int fd) {
  std::uint64_t count;
  [[maybe_unused]] auto n = ::read(fd, &count, sizeof count);
}

class loop_work_scope {
 public:
  explicit loop_work_scope(int waker) {
    this_thread.doing_loop_work = true;
    this_thread.leading_with = waker;
  }
  ~loop_work_scope() {
    this_thread.doing_loop_work = false;
    this_thread.leading_with = -1;
  }
  loop_work_scope(const loop_work_scope&) = delete;
  loop_work_scope& operator=(const loop_work_scope&) = delete;
};

}  // namespace

class transport::impl {
  struct socket_entry;

 public:
  explicit impl(int io_threads)
      : context_(io_threads),
        zap_(context_, [this](const zap_request& request) { return admit(request); }) {
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    leader_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd_ < 0 || leader_fd_ < 0) throw exception({errc::internal, "eventfd failed"});
    thread_ = std::thread([this] {
      ::pthread_setname_np(::pthread_self(), "duplex-io");  // for top -H, perf and gdb
      this_thread.transport_thread = true;
      run();
    });
  }

  ~impl() {
    post([this] { running_ = false; });
    thread_.join();
    ::close(wake_fd_);
    ::close(leader_fd_);
  }

  // ---- called from any thread ----

  void post(std::function<void()> command) {
    bool must_wake;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      commands_.push_back(std::move(command));
      must_wake = std::exchange(sleeping_, false);
    }
    if (must_wake) wake();
  }

  template <class T>
  T call(std::function<T()> command) {
    release_held();  // the command may wait for them
    std::promise<T> done;
    auto future = done.get_future();
    post([&] {
      try {
        done.set_value(command());
      } catch (...) {
        done.set_exception(std::current_exception());  // rethrown to the caller
      }
    });
    return future.get();
  }

  void send(connection_id conn, std::string encoded, std::size_t cost, bool bypass) {
    auto& me = this_thread;
    if (!bypass) {
      if (!me.doing_loop_work) me.sent_since_read = true;  // not what a leader's reading answers
      if (auto* kept = hold(me, conn)) {
        kept->frames += encoded;
        kept->cost += cost;
        return;
      }
    }
    bool must_wake;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      outgoing_.push_back({conn, std::move(encoded), 0, 0, cost, bypass});
      must_wake = !me.doing_loop_work && std::exchange(sleeping_, false);
    }
    if (must_wake) wake();
  }

  // Small frames are copied into one shared buffer instead of each owning a string: a
  // stream's messages then cost the queue no allocation each.
  void send_copy(connection_id conn, const char* data, std::size_t size, std::size_t cost) {
    auto& me = this_thread;
    if (!me.doing_loop_work) me.sent_since_read = true;
    if (auto* kept = hold(me, conn)) {
      kept->frames.append(data, size);
      kept->cost += cost;
      return;
    }
    bool must_wake;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      outgoing_.push_back({conn, {}, staged_.size(), size, cost, false});
      staged_.append(data, size);
      must_wake = !me.doing_loop_work && std::exchange(sleeping_, false);
    }
    if (must_wake) wake();
  }

  // This thread's reservation for `conn` when it holds its sends, made (and queued) on
  // the first frame; null when it does not hold. The transport thread never holds: what it
  // sends leaves at the end of its round anyway.
  reservation* hold(thread_role& me, connection_id conn) {
    auto& held = me.held;
    if (held.depth == 0 || me.transport_thread || me.doing_loop_work) return nullptr;
    if (held.owner != this) {
      release_held();  // another transport's: they leave first
      held.owner = this;
    }
    for (auto& [c, kept] : held.reservations)
      if (c == conn) return kept.get();
    auto kept = std::make_shared<reservation>();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      outgoing_.push_back({conn, {}, 0, 0, 0, false, kept});
    }
    held.reservations.emplace_back(conn, kept);
    return kept.get();
  }

  // Completes this thread's reservations. With `send_here` (the thread is about to wait, so it
  // has nothing better to do) and the transport thread asleep, this thread sends the queue
  // itself: a blocking call's request leaves without a hand-off. Otherwise it wakes the
  // transport thread if it must, which then sends what every thread queued meanwhile in one
  // batch (what a thread that goes on making calls wants).
  static void release_held(bool send_here = false) {
    auto& me = this_thread;
    auto& held = me.held;
    if (held.reservations.empty()) return;
    auto& owner = *held.owner;
    {
      std::lock_guard<std::mutex> lock(owner.mutex_);
      for (auto& [conn, kept] : held.reservations) kept->complete = true;
      owner.completed_ = true;  // the loop must not sleep before it looked
    }
    held.reservations.clear();
    // (A thread doing the loop's work holds the lock already: it sends when it is done.)
    if (send_here && !me.transport_thread && !me.doing_loop_work && owner.io_mutex_.try_lock()) {
      owner.flush_for_sleeping_loop();
      owner.io_mutex_.unlock();
      return;
    }
    bool must_wake;
    {
      std::lock_guard<std::mutex> lock(owner.mutex_);
      must_wake = std::exchange(owner.sleeping_, false);
    }
    if (must_wake) owner.wake();
  }

  // Under io_mutex_, on a thread other than the transport thread's, which sleeps in epoll_wait():
  // sends what is queued. A send may have taken the signal of input waiting on its socket
  // (see socket_poller): if so, the transport thread is woken to read it.
  void flush_for_sleeping_loop() {
    if (!running_) return;  // the loop ended: its sockets are closed
    flush_outgoing();
    if (poller_.settle() || sockets_changed_) wake();
  }

  // transport::lead. The socket lock is free only while the transport thread sleeps; the
  // borrowed socket leaves its epoll set, so what comes on it wakes this thread alone.
  bool lead(connection_id conn, std::optional<clock::time_point> deadline) {
    if (this_thread.transport_thread || this_thread.doing_loop_work)
      return false;  // the lock is this thread's
    std::unique_lock<std::mutex> io(io_mutex_, std::try_to_lock);
    if (!io.owns_lock() || !running_ || sockets_changed_ || leading_) return false;
    auto found = connections_.find(conn);
    if (found == connections_.end() || found->second.ignored) return false;
    socket_entry* entry = found->second.socket;
    const auto slot = entry->data_slot;
    if (!poller_.ready(slot)) {  // nothing known to wait on it: sleep until something comes
      const auto generation = poller_.generation();
      pollfd fds[] = {{poller_.fd(slot), POLLIN, 0}, {leader_fd_, POLLIN, 0}};
      poller_.lend(slot);
      leading_ = true;
      io.unlock();
      const int n = ::poll(fds, 2, poll_timeout(deadline));
      if (n > 0 && fds[1].revents != 0) drain_eventfd(leader_fd_);
      io.lock();
      leading_ = false;
      // The loop watched its sockets anew meanwhile (a connect, a close): the slot is not ours
      // to give back, and the entry may be gone. The caller looks again.
      if (poller_.generation() != generation || sockets_changed_ || !running_) return true;
      if (n > 0 && fds[0].revents != 0) poller_.mark_ready(slot);
    }
    if (poller_.ready(slot)) {
      loop_work_scope doing_the_loops_work(leader_fd_);
      try {
        poller_.read(slot, read_socket(*entry));
        if (!sockets_changed_) flush_outgoing();
      } catch (const std::exception&) {
        sockets_changed_ = true;  // as in run(): the loop looks at every socket afresh
      }
    }
    // Given back once read: its descriptor, still readable before, would wake the loop.
    if (!sockets_changed_ && !poller_.take_back(slot)) sockets_changed_ = true;
    // What is left (a burst cut short, input a send uncovered, sockets to watch anew) is the
    // loop's: wake it.
    if (sockets_changed_ || poller_.settle()) wake();
    return true;
  }

  int leader_waker() const { return leader_fd_; }

  bool has_leader() {
    std::lock_guard<std::mutex> io(io_mutex_);
    return leading_;
  }

  static int poll_timeout(std::optional<clock::time_point> deadline) {
    if (!deadline) return -1;
    const auto left = *deadline - clock::now();
    if (left <= clock::duration::zero()) return 0;
    // Rounded up: a wait that ends a little early would only come round again.
    return static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(left).count());
  }

  // The ZAP policy: which clients may finish a CURVE handshake with an owner's ROUTER.
  zap_verdict admit(const zap_request& request) {
    if (request.domain.empty() && request.mechanism == "NULL")
      return {true, {}, {}};  // a socket without security: libzmq only asks out of courtesy
    const owner_state* owner = nullptr;
    for (auto& [id, state] : owners_)
      if (zap_domain_of(id) == request.domain) owner = &state;
    if (!owner || !owner->settings.security.curve)
      return {false, "no Duplex peer serves ZAP domain '" + request.domain + "'", {}};
    const auto& security = owner->settings.security;
    if (request.mechanism != "CURVE")
      return {false, "CURVE is required, not " + request.mechanism, {}};
    const auto& allowed = security.allowed_keys;
    if (security.allow_any_key ||
        std::find(allowed.begin(), allowed.end(), request.client_key) != allowed.end())
      return {true, {}, request.client_key};
    return {false, "client key " + request.client_key + " is not allowed", {}};
  }

  // Called before the loop sleeps: with nothing queued, marks it asleep, so that the next
  // post or send writes the eventfd. While the loop is awake, queueing costs no system call:
  // the loop looks at the queues again before it sleeps.
  bool work_queued_or_sleep() {
    std::lock_guard<std::mutex> lock(mutex_);
    const bool queued = !commands_.empty() || !outgoing_.empty() || completed_;
    sleeping_ = !queued;
    return queued;
  }
  void awake() {
    std::lock_guard<std::mutex> lock(mutex_);
    sleeping_ = false;
  }

  // ---- transport thread only (through post/call) ----

  owner_id add_owner(std::shared_ptr<transport_events> events, socket_settings settings) {
    auto id = ++last_owner_;
    next_liveness_check_ = clock::now();  // its heartbeat interval may be the shortest
    owners_[id] = owner_state{std::move(events), std::move(settings), nullptr, {}, {}, {}};
    return id;
  }

  void remove_owner(owner_id owner, std::chrono::milliseconds linger) {
    flush_outgoing();
    auto it = owners_.find(owner);
    if (it == owners_.end()) return;
    auto& state = it->second;
    int linger_ms = static_cast<int>(linger.count());
    if (state.router) close_socket(*state.router, linger_ms);
    while (!state.ipc_files.empty()) remove_ipc_file(state, *state.ipc_files.begin());
    for (auto& [endpoint, dealer] : state.dealers) close_socket(*dealer, linger_ms);
    for (auto it2 = connections_.begin(); it2 != connections_.end();) {
      if (it2->second.owner == owner)
        it2 = connections_.erase(it2);
      else
        ++it2;
    }
    owners_.erase(it);
    sockets_changed_ = true;
  }

  result<std::string> bind(owner_id owner, const std::string& endpoint) {
    if (auto ok = check_endpoint(endpoint); !ok) return ok.error();
    auto& state = owners_.at(owner);
    if (!state.router) {
      state.router = std::make_unique<socket_entry>();
      state.router->owner = owner;
      state.router->is_router = true;
      state.router->socket = zmq::socket_t(context_, zmq::socket_type::router);
      apply_common_options(state.router->socket, state.settings);
      state.router->socket.set(zmq::sockopt::router_mandatory, 1);
      if (state.settings.security.curve)
        curve_server_options(state.router->socket, *state.settings.security.curve,
                             zap_domain_of(owner));
      start_monitor(*state.router);
      sockets_changed_ = true;
    }
    // Binding processes the socket's commands: the poller must look at it afresh.
    sockets_changed_ = true;
    if (zmq_bind(state.router->socket.handle(), endpoint.c_str()) != 0)
      return zmq_failure("cannot bind", endpoint, zmq_errno());
    auto bound = state.router->socket.get(zmq::sockopt::last_endpoint);
    if (bound.rfind("ipc://", 0) == 0) state.ipc_files.insert(bound.substr(6));
    return bound;
  }

  result<void> unbind(owner_id owner, const std::string& endpoint) {
    if (auto ok = check_endpoint(endpoint); !ok) return ok.error();
    auto& state = owners_.at(owner);
    sockets_changed_ = true;  // as for bind()
    if (!state.router || zmq_unbind(state.router->socket.handle(), endpoint.c_str()) != 0)
      return duplex::error{errc::not_found, "endpoint '" + endpoint + "' is not bound"};
    if (endpoint.rfind("ipc://", 0) == 0) remove_ipc_file(state, endpoint.substr(6));
    return {};
  }

  result<void> connect(owner_id owner, const std::string& endpoint, std::string server_key) {
    if (auto ok = check_endpoint(endpoint); !ok) return ok.error();
    auto& state = owners_.at(owner);
    if (state.dealers.count(endpoint))
      return duplex::error{errc::already_exists, "already connected to '" + endpoint + "'"};
    const bool inproc = endpoint.rfind("inproc://", 0) == 0;
    const auto& security = state.settings.security;
    if (server_key.empty()) server_key = security.server_key;
    if (!security.curve && !server_key.empty())
      return duplex::error{errc::invalid_argument,
                           "a server key needs this peer's own CURVE key pair (security.curve)"};
    if (security.curve && !inproc && server_key.empty())
      return duplex::error{errc::invalid_argument,
                           "connecting to '" + endpoint +
                               "' with CURVE needs the server's public "
                               "key (connect_options::server_key or security.server_key)"};
    if (!server_key.empty() && !is_z85_key(server_key))
      return duplex::error{errc::invalid_argument, "the server key must be 40 characters of Z85"};
    auto entry = std::make_unique<socket_entry>();
    entry->owner = owner;
    entry->endpoint = endpoint;
    entry->server_key = inproc ? std::string() : server_key;
    if (auto opened = open_dealer(*entry, state.settings); !opened) return opened.error();
    auto& dealer = *state.dealers.emplace(endpoint, std::move(entry)).first->second;
    sockets_changed_ = true;
    if (inproc) connection_established(dealer, -1);
    return {};
  }

  // Creates the entry's DEALER and connects it; on failure the entry has no socket.
  result<void> open_dealer(socket_entry& entry, const socket_settings& settings) {
    const auto& endpoint = entry.endpoint;
    entry.socket = zmq::socket_t(context_, zmq::socket_type::dealer);
    apply_common_options(entry.socket, settings);
    // inproc has no handshake and no monitor events: its one connection is up at once, and
    // frames queue in the pipe until the endpoint is bound (connect-before-bind).
    const bool inproc = endpoint.rfind("inproc://", 0) == 0;
    entry.socket.set(zmq::sockopt::immediate, inproc ? 0 : 1);
    entry.socket.set(zmq::sockopt::reconnect_ivl,
                     static_cast<int>(settings.reconnect_interval.count()));
    entry.socket.set(zmq::sockopt::reconnect_ivl_max,
                     static_cast<int>(settings.reconnect_interval_max.count()));
    // A TCP connect unanswered for the heartbeat timeout is given up and retried: otherwise,
    // after a silent partition, reconnecting waits for the kernel's SYN backoff (up to minutes).
    entry.socket.set(zmq::sockopt::connect_timeout,
                     static_cast<int>(settings.heartbeat_timeout.count()));
    if (!entry.server_key.empty())
      curve_client_options(entry.socket, *settings.security.curve, entry.server_key);
    // The monitor must exist before connecting or the first handshake event is lost.
    start_monitor(entry);
    if (zmq_connect(entry.socket.handle(), endpoint.c_str()) != 0) {
      auto err = zmq_failure("cannot connect to", endpoint, zmq_errno());
      close_socket(entry, 0);
      return err;
    }
    return {};
  }

  // A connection that failed its heartbeats may still be open at the ZeroMQ level (a remote
  // whose ZeroMQ threads live but whose Duplex side is stuck): start over with a new one.
  void restart_dealer(socket_entry& entry) {
    close_socket(entry, 0);
    entry.current = 0;
    sockets_changed_ = true;
    if (!open_dealer(entry, owners_.at(entry.owner).settings)) {
      // Cannot happen for an endpoint that connected before; keep a closed socket to poll.
      entry.socket = zmq::socket_t(context_, zmq::socket_type::dealer);
      start_monitor(entry);
    }
  }

  result<void> disconnect(owner_id owner, const std::string& endpoint) {
    auto& state = owners_.at(owner);
    auto it = state.dealers.find(endpoint);
    if (it == state.dealers.end())
      return duplex::error{errc::not_found, "not connected to '" + endpoint + "'"};
    flush_outgoing();
    auto& entry = *it->second;
    if (entry.current) connection_lost(entry.current, {errc::unavailable, "disconnected"});
    close_socket(entry, 0);
    state.dealers.erase(it);
    sockets_changed_ = true;
    return {};
  }

  void close_connection(connection_id conn) {
    auto it = connections_.find(conn);
    if (it == connections_.end()) return;
    it->second.ignored = true;
  }

 private:
  struct socket_entry {
    owner_id owner = 0;
    bool is_router = false;
    std::string endpoint;    // dealers: the connected endpoint
    std::string server_key;  // dealers with CURVE: the server's public key
    zmq::socket_t socket;
    zmq::socket_t monitor;
    connection_id current = 0;  // dealers: the live connection, 0 while none
    // Where the poller watches them; valid while sockets_changed_ is false.
    socket_poller::slot data_slot = 0;
    socket_poller::slot monitor_slot = 0;
  };

  struct owner_state {
    std::shared_ptr<transport_events> events;
    socket_settings settings;
    std::unique_ptr<socket_entry> router;
    std::map<std::string, std::unique_ptr<socket_entry>> dealers;
    std::unordered_map<std::string, connection_id> by_routing_id;
    std::set<std::string> ipc_files;  // bound ipc paths: libzmq leaves the files behind
  };

  static void remove_ipc_file(owner_state& state, std::string path) {  // a copy: it may be erased
    if (state.ipc_files.erase(path)) ::unlink(path.c_str());
  }

  struct connection_state {
    owner_id owner = 0;
    socket_entry* socket = nullptr;
    std::string routing_id;  // routers only
    int fd = -1;
    bool ignored = false;                            // after BYE/close: frames are dropped
    clock::time_point last_received = clock::now();  // for the heartbeat timeout
    clock::time_point last_ping = clock::now();
    // The remote's connection window: -1 until its HELLO names one (then no limit applies).
    std::int64_t credit = -1;
    std::deque<outgoing_frames> backlog;  // waiting for connection credit, in order
  };

  static connection_state new_connection(socket_entry& socket, std::string routing_id, int fd) {
    connection_state c;
    c.owner = socket.owner;
    c.socket = &socket;
    c.routing_id = std::move(routing_id);
    c.fd = fd;
    return c;
  }

  void wake() { signal_eventfd(wake_fd_); }

  void apply_common_options(zmq::socket_t& s, const socket_settings& settings) {
    s.set(zmq::sockopt::sndhwm, 0);  // credit-based flow control bounds memory, not HWM
    s.set(zmq::sockopt::rcvhwm, 0);
    s.set(zmq::sockopt::linger, 0);
    s.set(zmq::sockopt::maxmsgsize, settings.max_message_size);
    s.set(zmq::sockopt::heartbeat_ivl, static_cast<int>(settings.heartbeat_interval.count()));
    s.set(zmq::sockopt::heartbeat_timeout, static_cast<int>(settings.heartbeat_timeout.count()));
    s.set(zmq::sockopt::heartbeat_ttl, static_cast<int>(settings.heartbeat_timeout.count()));
    s.set(zmq::sockopt::handshake_ivl, static_cast<int>(settings.handshake_interval.count()));
  }

  void start_monitor(socket_entry& entry) {
    std::string address = "inproc://duplex-monitor-" + std::to_string(++last_monitor_);
    constexpr int events = ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED |
                           ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                           ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
    if (zmq_socket_monitor(entry.socket.handle(), address.c_str(), events) != 0)
      throw exception({errc::internal, "zmq_socket_monitor failed"});
    entry.monitor = zmq::socket_t(context_, zmq::socket_type::pair);
    entry.monitor.connect(address);
  }

  void close_socket(socket_entry& entry, int linger_ms) {
    zmq_socket_monitor(entry.socket.handle(), nullptr, 0);
    entry.socket.set(zmq::sockopt::linger, linger_ms);
    entry.socket.close();
    entry.monitor.close();
  }

  std::vector<socket_entry*> all_sockets() {
    std::vector<socket_entry*> out;
    for (auto& [id, owner] : owners_) {
      if (owner.router) out.push_back(owner.router.get());
      for (auto& [endpoint, dealer] : owner.dealers) out.push_back(dealer.get());
    }
    return out;
  }

  void run() {
    std::vector<socket_entry*> sockets;
    std::unique_lock<std::mutex> io(io_mutex_);  // let go only while the loop sleeps
    while (running_) {
      try {
        run_once(sockets, io);
      } catch (const std::exception&) {
        // A socket error must not take the transport thread (and every peer) down; the
        // affected connection reports itself through its monitor or the next send.
        sockets_changed_ = true;
      }
    }
    for (auto& [id, owner] : owners_) {
      if (owner.router) close_socket(*owner.router, 0);
      for (auto& [endpoint, dealer] : owner.dealers) close_socket(*dealer, 0);
    }
    owners_.clear();
    connections_.clear();  // a late batch's sender finds nothing to send on
  }

  void watch(std::vector<socket_entry*>& sockets) {
    sockets = all_sockets();
    poller_.clear();
    wake_slot_ = poller_.add_fd(wake_fd_);
    zap_slot_ = poller_.add_socket(zap_.socket());
    for (auto* s : sockets) {
      s->data_slot = poller_.add_socket(s->socket);
      s->monitor_slot = poller_.add_socket(s->monitor);
    }
    sockets_changed_ = false;
  }

  void run_once(std::vector<socket_entry*>& sockets, std::unique_lock<std::mutex>& io) {
    if (sockets_changed_) watch(sockets);
    // Work queued while the last round ran did not write the eventfd: look before sleeping.
    const bool busy = poller_.settle() || work_queued_or_sleep();
    const auto timeout = busy ? std::chrono::milliseconds{0} : idle_wait(sockets.empty());
    if (!poller_.wait(timeout, io) && timeout.count() != 0) poller_.recheck_all();
    awake();
    if (poller_.ready(wake_slot_)) {
      drain_eventfd(wake_fd_);
      poller_.read(wake_slot_, false);
    }
    if (poller_.ready(zap_slot_)) {
      poller_.read(zap_slot_, false);  // it reads until nothing is left
      zap_.answer_waiting();
    }
    run_commands();
    if (sockets_changed_ || !running_) return;  // entries may be gone
    for (auto* s : sockets) {
      if (!poller_.ready(s->monitor_slot)) continue;
      poller_.read(s->monitor_slot, false);
      read_monitor(*s);
      if (sockets_changed_) return;
    }
    for (auto* s : sockets) {
      if (!poller_.ready(s->data_slot)) continue;
      poller_.read(s->data_slot, read_socket(*s));
      if (sockets_changed_) return;
    }
    run_commands();  // commands queued while reading
    check_liveness();
  }

  // How long the loop may sleep: until the next heartbeat is due; without connections, a
  // second while it has sockets (each timed-out wait rechecks them all: socket_poller), and
  // for ever with none (an idle transport wakes for nothing).
  std::chrono::milliseconds idle_wait(bool no_sockets) const {
    if (connections_.empty())
      return no_sockets ? std::chrono::milliseconds{-1} : std::chrono::milliseconds{1000};
    auto wait =
        std::chrono::duration_cast<std::chrono::milliseconds>(next_liveness_check_ - clock::now());
    return std::max(wait, std::chrono::milliseconds{0});
  }

  // Sends PING on connections that are due one and fails those silent for heartbeat_timeout.
  // Runs at most every quarter of the shortest heartbeat interval.
  void check_liveness() {
    auto now = clock::now();
    if (now < next_liveness_check_) return;
    auto shortest = std::chrono::milliseconds{60'000};
    for (auto& [id, owner] : owners_)
      shortest = std::min(shortest, owner.settings.heartbeat_interval);
    next_liveness_check_ = now + std::max(shortest / 4, std::chrono::milliseconds{10});
    std::vector<connection_id> silent;
    std::vector<connection_id> due;
    for (auto& [conn, c] : connections_) {
      const auto& settings = owners_.at(c.owner).settings;
      if (c.ignored) continue;
      if (now - c.last_received >= settings.heartbeat_timeout)
        silent.push_back(conn);
      else if (now - c.last_ping >= settings.heartbeat_interval)
        due.push_back(conn);
    }
    for (auto conn : due) {
      auto it = connections_.find(conn);
      if (it == connections_.end()) continue;
      it->second.last_ping = now;
      std::string ping;
      wire::encode_value(wire::frame_kind::ping, 0, ++last_ping_value_, ping);
      send_batch(conn, std::move(ping));
    }
    for (auto conn : silent) heartbeat_timed_out(conn);
  }

  void heartbeat_timed_out(connection_id conn) {
    auto it = connections_.find(conn);
    if (it == connections_.end()) return;
    auto& c = it->second;
    auto timeout = owners_.at(c.owner).settings.heartbeat_timeout;
    duplex::error reason{errc::unavailable, "no heartbeat from the remote peer for " +
                                                std::to_string(timeout.count()) + " ms"};
    if (c.socket->is_router) {
      // Ignore the rest of this connection; ZeroMQ closes it on its own heartbeat timeout.
      c.ignored = true;
      owners_.at(c.owner).events->on_connection_down(conn, std::move(reason));
      return;
    }
    auto& entry = *c.socket;
    connection_lost(conn, std::move(reason));
    restart_dealer(entry);
  }

  void run_commands() {
    std::deque<std::function<void()>> commands;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      commands.swap(commands_);
    }
    // Sends queued before a command (e.g. remove_owner) go out before it runs.
    flush_outgoing();
    for (auto& command : commands) {
      try {
        command();
      } catch (const std::exception&) {
        // call() reports its own failures; a failed post() has no one to tell
      }
    }
  }

  void flush_outgoing() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      outgoing_.swap(flushing_);
      staged_.swap(flushing_staged_);
      completed_ = false;  // looked at below
    }
    // Coalesce per connection, keeping each connection's order; what the connection window
    // cannot take yet waits in the connection's backlog (and so does everything after it).
    std::vector<std::pair<connection_id, std::string>> batches;
    std::unordered_map<connection_id, std::size_t> open_batch;
    for (auto& item : flushing_) {
      auto c = connections_.find(item.conn);
      if (c == connections_.end()) continue;  // the connection died; its channels were failed
      if (!unwrap(item)) {
        c->second.backlog.push_back(std::move(item));  // and what follows waits behind it
        held_back_.insert(c->first);
        continue;
      }
      if (!take_credit(c->second, item)) continue;
      if (item.staged_size)
        append_to_batch(
            batches, open_batch, item.conn,
            std::string_view(flushing_staged_).substr(item.staged_at, item.staged_size));
      else
        append_to_batch(batches, open_batch, item.conn, std::move(item.encoded));
    }
    // Both keep their capacity for the next round.
    flushing_.clear();
    flushing_staged_.clear();
    for (auto& [conn, batch] : batches) send_batch(conn, std::move(batch));
    // Backlogs behind a reservation: it may be complete now.
    for (auto it = held_back_.begin(); it != held_back_.end();) {
      auto conn = *it;
      if (send_backlog(conn))
        ++it;
      else
        it = held_back_.erase(it);
    }
  }

  // A reservation's frames once its holder let go: false while it still holds them.
  bool unwrap(outgoing_frames& item) {
    if (!item.reserved) return true;
    std::lock_guard<std::mutex> lock(mutex_);
    if (!item.reserved->complete) return false;
    item.encoded = std::move(item.reserved->frames);
    item.cost = item.reserved->cost;
    item.reserved.reset();
    return true;
  }

  // False when `item` must wait in the backlog.
  bool take_credit(connection_state& c, outgoing_frames& item) {
    // CREDIT must get out even when DATA waits both ways, or neither side's window reopens.
    if (item.bypass) return true;
    if (!c.backlog.empty() || (c.credit >= 0 && static_cast<std::int64_t>(item.cost) > c.credit)) {
      if (item.staged_size) {  // the staged buffer is reused: the backlog owns its frames
        item.encoded.assign(flushing_staged_, item.staged_at, item.staged_size);
        item.staged_size = 0;
      }
      c.backlog.push_back(std::move(item));
      return false;
    }
    if (c.credit >= 0) c.credit -= static_cast<std::int64_t>(item.cost);
    return true;
  }

  // `Encoded`: a std::string (moved into a new batch) or a std::string_view (copied).
  template <class Encoded>
  static void append_to_batch(std::vector<std::pair<connection_id, std::string>>& batches,
                              std::unordered_map<connection_id, std::size_t>& open_batch,
                              connection_id conn, Encoded&& encoded) {
    auto it = open_batch.find(conn);
    if (it != open_batch.end() && batches[it->second].second.size() < batch_soft_limit) {
      batches[it->second].second += encoded;
    } else {
      open_batch[conn] = batches.size();
      batches.emplace_back(conn, std::string(std::forward<Encoded>(encoded)));
    }
  }

  // The remote reopened its connection window: send what now fits, in order.
  void grant_connection_credit(connection_id conn, std::uint64_t bytes) {
    auto it = connections_.find(conn);
    if (it == connections_.end()) return;
    auto& c = it->second;
    if (c.credit < 0) return;  // no connection window announced: nothing waits for credit
    c.credit += static_cast<std::int64_t>(std::min<std::uint64_t>(bytes, std::uint64_t{1} << 62));
    send_backlog(conn);
  }

  // Sends the backlog's front, in order, while the connection window takes it and no
  // reservation still holds it. True when a reservation stopped it.
  bool send_backlog(connection_id conn) {
    auto it = connections_.find(conn);
    if (it == connections_.end()) return false;
    auto& c = it->second;
    std::string batch;
    bool held = false;
    while (!c.backlog.empty()) {
      auto& front = c.backlog.front();
      if (!unwrap(front)) {
        held = true;
        break;
      }
      const auto cost = static_cast<std::int64_t>(front.cost);
      if (c.credit >= 0 && cost > c.credit) break;
      if (c.credit >= 0) c.credit -= cost;
      batch += front.encoded;
      c.backlog.pop_front();
      if (batch.size() >= batch_soft_limit) {
        send_batch(conn, std::move(batch));
        batch = {};
        if (connections_.find(conn) == connections_.end()) return false;
      }
    }
    if (!batch.empty()) send_batch(conn, std::move(batch));
    return held;
  }

  // Large batches are handed to ZeroMQ without a copy: the message owns the string.
  static zmq::message_t to_message(std::string batch) {
    if (batch.size() < zero_copy_threshold) return zmq::message_t(batch.data(), batch.size());
    auto* owned = new std::string(std::move(batch));
    return zmq::message_t(
        owned->data(), owned->size(),
        [](void*, void* hint) { delete static_cast<std::string*>(hint); }, owned);
  }

  void send_batch(connection_id conn, std::string batch) {
    auto it = connections_.find(conn);
    if (it == connections_.end()) return;  // the connection died; its channels were failed
    auto& c = it->second;
    zmq::socket_t& socket = c.socket->socket;
    bool sent = false;
    try {
      if (c.socket->is_router)
        sent = socket
                   .send(zmq::buffer(c.routing_id),
                         zmq::send_flags::sndmore | zmq::send_flags::dontwait)
                   .has_value();
      if (sent || !c.socket->is_router)
        sent = socket.send(to_message(std::move(batch)), zmq::send_flags::dontwait).has_value();
      if (!sockets_changed_) poller_.sent_on(c.socket->data_slot);
    } catch (const zmq::error_t&) {
      sent = false;  // EHOSTUNREACH: ROUTER_MANDATORY reports a peer that is gone
    }
    // High-water marks are off, so a refused send means the connection is gone.
    if (!sent) connection_lost(conn, {errc::unavailable, "the remote peer is unreachable"});
  }

  // True when it stopped with messages left (the burst limit): the loop comes back to them.
  bool read_socket(socket_entry& entry) {
    for (int i = 0; i < receive_burst; ++i) {
      zmq::message_t first;
      try {
        if (!entry.socket.recv(first, zmq::recv_flags::dontwait)) return false;
      } catch (const zmq::error_t&) {
        return false;
      }
      if (entry.is_router)
        read_router_message(entry, std::move(first));
      else
        read_dealer_message(entry, std::move(first));
      if (sockets_changed_) return true;  // the entry may be gone
    }
    return true;
  }

  void read_router_message(socket_entry& entry, zmq::message_t routing) {
    std::vector<zmq::message_t> parts;
    while (true) {
      bool more = parts.empty() ? routing.more() : parts.back().more();
      if (!more) break;
      zmq::message_t part;
      if (!entry.socket.recv(part, zmq::recv_flags::dontwait)) break;
      parts.push_back(std::move(part));
    }
    auto& owner = owners_.at(entry.owner);
    std::string routing_id(static_cast<const char*>(routing.data()), routing.size());
    connection_id conn;
    auto known = owner.by_routing_id.find(routing_id);
    if (known == owner.by_routing_id.end()) {
      // Connections are told apart by fd (ZMQ_SRCFD), and a new connection may reuse the fd of
      // one that just closed. Its DISCONNECTED event was queued before this first message, so
      // take it now, or it would be taken for the new connection's.
      read_monitor(entry);
      conn = ++last_connection_;
      owner.by_routing_id.emplace(routing_id, conn);
      connections_[conn] = new_connection(entry, routing_id, -1);
      if (!parts.empty()) {
        auto user = authenticated_user(parts[0]);
        if (!user.empty()) owner.events->on_authenticated(conn, user);
      }
    } else {
      conn = known->second;
    }
    auto& state = connections_[conn];
    if (state.ignored) return;
    if (parts.size() != 1) {
      protocol_failure(conn, "a Duplex message must be a single ZeroMQ frame");
      return;
    }
    if (state.fd < 0) state.fd = zmq_msg_get(parts[0].handle(), ZMQ_SRCFD);
    deliver(conn, parts[0]);
  }

  void read_dealer_message(socket_entry& entry, zmq::message_t body) {
    bool multipart = body.more();
    while (body.more()) {
      zmq::message_t rest;
      if (!entry.socket.recv(rest, zmq::recv_flags::dontwait) || !rest.more()) break;
    }
    if (!entry.current) return;  // data of a connection we already reported down
    auto it = connections_.find(entry.current);
    if (it == connections_.end() || it->second.ignored) return;
    if (multipart) {
      protocol_failure(entry.current, "a Duplex message must be a single ZeroMQ frame");
      return;
    }
    deliver(entry.current, body);
  }

  void deliver(connection_id conn, const zmq::message_t& body) {
    auto& state = connections_.at(conn);
    state.last_received = clock::now();
    auto& owner = owners_.at(state.owner);
    auto frames = wire::decode_batch(body.data(), body.size(), owner.settings.limits,
                                     /*borrow_small_payloads=*/true);
    if (!frames) {
      protocol_failure(conn, frames.error().message);
      return;
    }
    // Liveness is answered here so that busy actors or handlers never look dead, and the
    // connection window (a connection-level concern) is kept here too.
    std::string pongs;
    auto& list = *frames;
    std::size_t kept = 0;
    std::uint64_t connection_credit = 0;
    for (auto& f : list) {
      if (f.kind == wire::frame_kind::ping) {
        wire::encode_value(wire::frame_kind::pong, 0, f.value, pongs);
        continue;
      }
      if (f.kind == wire::frame_kind::credit && f.channel == 0) {
        connection_credit += std::min<std::uint64_t>(f.value, std::uint64_t{1} << 62);
        continue;
      }
      if (f.kind == wire::frame_kind::hello && f.hello->connection_window && state.credit < 0)
        state.credit = static_cast<std::int64_t>(
            std::min<std::uint64_t>(f.hello->connection_window, std::uint64_t{1} << 62));
      if (&list[kept] != &f) list[kept] = std::move(f);
      ++kept;
    }
    list.resize(kept);
    if (!pongs.empty()) send_batch(conn, std::move(pongs));
    if (connection_credit) grant_connection_credit(conn, connection_credit);
    if (connections_.find(conn) == connections_.end()) return;
    if (!list.empty()) owner.events->on_frames(conn, std::move(list));
  }

  void protocol_failure(connection_id conn, std::string why) {
    auto it = connections_.find(conn);
    if (it == connections_.end()) return;
    // Tell the remote why, then stop listening to it.
    std::string bye;
    wire::encode_status(wire::frame_kind::bye, 0, {errc::internal, why}, bye);
    send_batch(conn, std::move(bye));
    it = connections_.find(conn);
    if (it == connections_.end()) return;
    it->second.ignored = true;
    owners_.at(it->second.owner).events->on_connection_down(conn, {errc::internal, why});
  }

  void connection_lost(connection_id conn, duplex::error reason) {
    auto it = connections_.find(conn);
    if (it == connections_.end()) return;
    auto state = it->second;
    connections_.erase(it);
    auto& owner = owners_.at(state.owner);
    if (state.socket->is_router) {
      owner.by_routing_id.erase(state.routing_id);
    } else if (state.socket->current == conn) {
      state.socket->current = 0;
    }
    // Reported even when ignored: the owner keeps ignored connections until they are gone.
    owner.events->on_connection_down(conn, std::move(reason));
  }

  void read_monitor(socket_entry& entry) {
    while (true) {
      zmq::message_t event_msg;
      if (!entry.monitor.recv(event_msg, zmq::recv_flags::dontwait)) return;
      zmq::message_t address;
      if (event_msg.more()) (void)entry.monitor.recv(address, zmq::recv_flags::dontwait);
      if (event_msg.size() < 6) continue;
      std::uint16_t event;
      std::int32_t value;
      std::memcpy(&event, event_msg.data(), sizeof event);
      std::memcpy(&value, static_cast<const char*>(event_msg.data()) + 2, sizeof value);
      handle_monitor_event(entry, event, value);
    }
  }

  // `fd` is the event's value: the socket's fd, or an error or status code for failures.
  void handle_monitor_event(socket_entry& entry, std::uint16_t event, std::int32_t fd) {
    if (event == ZMQ_EVENT_DISCONNECTED) {
      if (entry.is_router) {
        for (auto& [conn, state] : connections_) {
          if (state.socket == &entry && state.fd == fd) {
            connection_lost(conn, {errc::unavailable, "the connection was closed"});
            break;
          }
        }
      } else if (entry.current) {
        connection_lost(entry.current, {errc::unavailable, "the connection was closed"});
      }
    } else if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED && !entry.is_router) {
      connection_established(entry, fd);
    } else if (!entry.is_router && (event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL ||
                                    event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
                                    event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)) {
      owners_.at(entry.owner)
          .events->on_connect_failed(entry.endpoint, handshake_failure(entry.endpoint, event, fd));
    }
  }

  void connection_established(socket_entry& entry, int fd) {
    if (entry.current) connection_lost(entry.current, {errc::unavailable, "reconnected"});
    entry.current = ++last_connection_;
    connections_[entry.current] = new_connection(entry, {}, fd);
    auto& events = *owners_.at(entry.owner).events;
    events.on_connection_up(entry.current, entry.endpoint);
    if (!entry.server_key.empty()) events.on_authenticated(entry.current, entry.server_key);
  }

  zmq::context_t context_;
  zap_handler zap_;  // bound in context_ before any socket can ask it
  int wake_fd_ = -1;
  // Wakes the thread that leads (one at a time): written by whoever delivers what it waits
  // for. A wake-up left over from an earlier leader only makes the next one look again.
  int leader_fd_ = -1;
  std::thread thread_;
  // Held by the transport thread, except while it sleeps: then a thread ending a send batch
  // may take it and send, and a blocked reader may take it to lead (sockets may move between
  // threads with a full barrier). Guards the sockets, connections_, owners_ and the poller.
  std::mutex io_mutex_;
  socket_poller poller_;
  socket_poller::slot wake_slot_ = 0;
  socket_poller::slot zap_slot_ = 0;
  bool leading_ = false;  // under io_mutex_: a thread sleeps on a lent socket (lead())

  std::mutex mutex_;
  std::deque<std::function<void()>> commands_;
  std::vector<outgoing_frames> outgoing_;
  std::string staged_;  // the bytes of outgoing_'s small frames
  // Transport thread only: what flush_outgoing() works through, swapped with the above.
  std::vector<outgoing_frames> flushing_;
  std::string flushing_staged_;
  bool sleeping_ = false;   // guarded by mutex_: the loop is in (or about to enter) its wait
  bool completed_ = false;  // guarded by mutex_: a reservation completed since the last flush

  // Owned by the transport thread.
  bool running_ = true;
  bool sockets_changed_ = true;
  owner_id last_owner_ = 0;
  connection_id last_connection_ = 0;
  std::uint64_t last_monitor_ = 0;
  std::uint64_t last_ping_value_ = 0;
  clock::time_point next_liveness_check_ = clock::now();
  std::map<owner_id, owner_state> owners_;
  std::unordered_map<connection_id, connection_state> connections_;
  std::set<connection_id> held_back_;  // connections whose backlog waits for a reservation
};

transport::transport(int io_threads) : impl_(std::make_unique<impl>(io_threads)) {}
transport::~transport() = default;

owner_id transport::add_owner(std::shared_ptr<transport_events> events, socket_settings settings) {
  return impl_->call<owner_id>(
      [&] { return impl_->add_owner(std::move(events), std::move(settings)); });
}

void transport::remove_owner(owner_id owner, std::chrono::milliseconds linger) {
  impl_->call<bool>([&] {
    impl_->remove_owner(owner, linger);
    return true;
  });
}

result<std::string> transport::bind(owner_id owner, const std::string& endpoint) {
  return impl_->call<result<std::string>>([&] { return impl_->bind(owner, endpoint); });
}

result<void> transport::unbind(owner_id owner, const std::string& endpoint) {
  return impl_->call<result<void>>([&] { return impl_->unbind(owner, endpoint); });
}

result<void> transport::connect(owner_id owner, const std::string& endpoint,
                                std::string server_key) {
  return impl_->call<result<void>>(
      [&] { return impl_->connect(owner, endpoint, std::move(server_key)); });
}

result<void> transport::disconnect(owner_id owner, const std::string& endpoint) {
  return impl_->call<result<void>>([&] { return impl_->disconnect(owner, endpoint); });
}

void transport::send(connection_id conn, std::string encoded_frames, std::size_t data_cost) {
  impl_->send(conn, std::move(encoded_frames), data_cost, false);
}

void transport::send_copy(connection_id conn, const char* encoded_frames, std::size_t size,
                          std::size_t data_cost) {
  impl_->send_copy(conn, encoded_frames, size, data_cost);
}

void transport::send_credit(connection_id conn, std::string encoded_frames) {
  impl_->send(conn, std::move(encoded_frames), 0, true);
}

void transport::hold_sends() {
  ++this_thread.held.depth;
}

void transport::end_hold() {
  auto& held = this_thread.held;
  if (held.depth > 0 && --held.depth == 0) impl::release_held();
}

void transport::release_held_sends() {
  impl::release_held(/*send_here=*/true);
}

bool transport::lead(connection_id conn,
                     std::optional<std::chrono::steady_clock::time_point> deadline) {
  return impl_->lead(conn, deadline);
}

bool transport::take_sent_since_read() {
  return std::exchange(this_thread.sent_since_read, false);
}

bool transport::has_leader() const {
  return impl_->has_leader();
}

int transport::leader_waker() const {
  return impl_->leader_waker();
}

void transport::wake_leader(int waker) {
  if (waker < 0 || waker == this_thread.leading_with) return;  // a leader's own deliveries
  signal_eventfd(waker);
}

void transport::close_connection(connection_id conn) {
  impl_->post([this, conn] { impl_->close_connection(conn); });
}

}  // namespace duplex::detail
