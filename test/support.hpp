// Helpers shared by the test suites.
#pragma once

#include <duplex/duplex.hpp>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace duplex::testing {

using namespace std::chrono_literals;

// How much longer than usual waits may take: DUPLEX_TEST_TIME_SCALE (an integer, default 1)
// for the ThreadSanitizer run, whose code is 5-15 times slower. Bounds, never speed goals.
inline int time_scale() {
  const char* text = std::getenv("DUPLEX_TEST_TIME_SCALE");
  int scale = text ? std::atoi(text) : 1;
  return scale > 0 ? scale : 1;
}

// Every wait in the tests is bounded: events, never speed.
inline const std::chrono::milliseconds wait_limit = 5s * time_scale();

// Context switches so far of this process's threads named `name` (as /proc shows them, e.g.
// "caf.multiplexer" for CAF's workers); -1 when there is no such thread.
inline long context_switches_of(const std::string& name) {
  long total = -1;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string thread_name;
    std::getline(comm, thread_name);
    if (thread_name != name) continue;
    if (total < 0) total = 0;
    std::ifstream status(task.path() / "status");
    for (std::string line; std::getline(status, line);)
      if (line.rfind("voluntary_ctxt_switches:", 0) == 0 ||
          line.rfind("nonvoluntary_ctxt_switches:", 0) == 0)
        total += std::stol(line.substr(line.find(':') + 1));
  }
  return total;
}

inline bytes make_payload(std::size_t size, std::uint8_t seed = 0) {
  bytes out(size);
  for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<std::uint8_t>((i * 31 + seed) & 0xff);
  return out;
}

// Echoes every message, then ends its side when the opener ends its own.
inline channel_handler echo_handler() {
  return [](channel ch) {
    while (auto msg = ch.read(wait_limit)) ch.write(*msg);
    ch.close_write();
  };
}

// A server peer serving "echo" (echo_handler) and a client connected to it over tcp.
struct echo_peers {
  runtime rt;
  peer server{rt};
  peer client{rt};
  echo_peers() {
    server.handle("echo", echo_handler());
    client.connect(server.bind("tcp://127.0.0.1:0").value()).value();
  }
};

inline peer_options with_id(std::string id) {
  peer_options options;
  options.peer_id = std::move(id);
  return options;
}

// The endpoints each transport-sensitive test runs over; `tag` keeps names unique.
inline std::vector<std::string> bind_endpoints(const std::string& tag) {
  static int counter = 0;
  ++counter;
  auto suffix = tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter);
  return {"tcp://127.0.0.1:0", "ipc:///tmp/duplex-test-" + suffix, "inproc://duplex-" + suffix};
}

// Polls `condition` until it holds or the limit passes.
template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds limit = wait_limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return condition();
}

// Waits for peer events through on_event.
class event_log {
 public:
  explicit event_log(peer& p) : peer_(p) {
    p.on_event([this](const peer_event& e) {
      std::lock_guard<std::mutex> lock(mutex_);
      events_.push_back(e);
      changed_.notify_all();
    });
  }

  ~event_log() { peer_.on_event(nullptr); }

  // Waits until `count` events of kind `what` were seen; returns the last of them.
  std::optional<peer_event> wait_for(peer_event::kind what, std::size_t count = 1) {
    std::unique_lock<std::mutex> lock(mutex_);
    std::optional<peer_event> last;
    changed_.wait_for(lock, wait_limit, [&] {
      std::size_t seen = 0;
      for (auto& e : events_)
        if (e.what == what) ++seen, last = e;
      return seen >= count;
    });
    std::size_t seen = 0;
    for (auto& e : events_)
      if (e.what == what) ++seen;
    return seen >= count ? last : std::nullopt;
  }

  // Events of kind `what` seen so far.
  std::size_t count(peer_event::kind what) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::size_t seen = 0;
    for (auto& e : events_)
      if (e.what == what) ++seen;
    return seen;
  }

 private:
  peer& peer_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<peer_event> events_;
};

}  // namespace duplex::testing
