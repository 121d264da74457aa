// What the demo's client steps and server handlers share: the console they narrate on, the
// checks that turn an unexpected result into a failure, and bounded waits for events.
#pragma once

#include <duplex/duplex.hpp>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace duplex_demo {

using namespace std::chrono_literals;

// Every wait in the demo is bounded by this.
inline constexpr std::chrono::milliseconds wait_limit = 5s;

// An unexpected result. main() prints it and exits non-zero.
class failure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Lines on stdout from the main thread and the handler threads, one whole line at a time.
// Server handlers also record their failures here: a handler's exception reaches the client
// only as `unknown`, and not at all once the client stopped reading. Thread-safe.
class console {
 public:
  void heading(int step, std::string_view title);
  // "  [who] text"
  void say(std::string_view who, std::string_view text);
  // "  ok: text", the milestone the CTest test looks for.
  void passed(int step, std::string_view text);
  void line(std::string_view text);

  void record_failure(std::string what);
  std::vector<std::string> failures() const;

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> failures_;
};

// Named one-shot events between threads, for the few places where the client must wait for
// a server handler to finish before it goes on. Thread-safe.
class signals {
 public:
  void raise(const std::string& name);
  // Throws failure when `name` is not raised within wait_limit.
  void wait(const std::string& name);

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::set<std::string> raised_;
};

// Counts a peer's `connected` events; remembers rejections for the failure message.
class connection_watch {
 public:
  explicit connection_watch(duplex::peer& watched);
  ~connection_watch();  // removes the callback
  connection_watch(const connection_watch&) = delete;
  connection_watch& operator=(const connection_watch&) = delete;

  // Throws failure when fewer than `count` connections complete within wait_limit.
  void wait_connected(std::size_t count);

 private:
  duplex::peer& watched_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::size_t connected_ = 0;
  std::vector<std::string> problems_;
};

// ---- checks: each throws failure("<what>: <why>") ----
void require(bool condition, std::string_view what);
void require(const duplex::result<void>& outcome, std::string_view what);
template <class T>
T require(duplex::result<T> outcome, std::string_view what) {
  if (!outcome) throw failure(std::string(what) + ": " + outcome.error().to_string());
  return std::move(outcome).value();
}
// Reads the next message (within wait_limit) as text.
std::string read_text(duplex::channel& ch, std::string_view what);
// Reads the end of the remote's stream (within wait_limit).
void read_end(duplex::channel& ch, std::string_view what);

// "read_result" as words: "message 'text'", "end-of-stream", "error unavailable: ...".
std::string describe(const duplex::read_result& r);
// "{key=value, ...}"
std::string describe(const duplex::metadata& data);

}  // namespace duplex_demo
