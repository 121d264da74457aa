// Every call the soak makes, counted by outcome and judged: an error is expected only when the
// soak asked for it (a cancel, a short deadline) or when the call was to the restarted peer
// and overlapped one of its restarts. Everything else is a failure of the run.
//
// Thread contract: every member is thread-safe; restart_log::reconnected() never blocks for
// long (it runs on a Duplex actor thread).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <duplex/error.hpp>

namespace duplex_soak {

using clock = std::chrono::steady_clock;

enum class target { stable, restarted };
std::string_view to_string(target t) noexcept;

// Why the soak made a call, and so which errors it may end with.
enum class intent {
  plain,           // must succeed (to the stable peer) or fail only around a restart
  cancel,          // the soak cancels it midway: cancelled is expected
  short_deadline,  // a deadline shorter than the work: deadline_exceeded is expected
};

// The restarts of the restarted peer, as windows of time in which its calls may fail:
// from the signal until `grace` after the driver is connected to the new process again.
class restart_log {
 public:
  explicit restart_log(clock::duration grace) : grace_(grace) {}

  void signalled(clock::time_point at);
  // A HELLO with the restarted peer completed (the first one, or after a restart).
  void reconnected(clock::time_point at);
  // Whether [start, end] overlaps a restart window (an open window counts).
  bool overlaps(clock::time_point start, clock::time_point end) const;
  // Waits until the last restart is followed by a reconnection; false when `until` passes.
  bool wait_reconnected(clock::time_point until) const;

  struct totals {
    std::size_t restarts = 0;
    std::size_t reconnected = 0;
    clock::duration max_reconnect_delay{};  // from the signal to the new connection
  };
  totals snapshot() const;

 private:
  struct window {
    clock::time_point signalled;
    std::optional<clock::time_point> reconnected;
  };
  clock::duration grace_;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::vector<window> windows_;
};

struct call_record {
  target to = target::stable;
  std::string operation;  // "unary_echo", "server_stream", ...
  intent why = intent::plain;
  clock::time_point started;
  clock::time_point ended;
  duplex::error status;  // ok, or how the call failed
  // Set when the call went wrong in a way Duplex did not report: the outcome's name
  // ("data_mismatch", "hung", "early_deadline", "data_after_cancel", "exception") and what
  // happened. Always unexpected.
  std::string anomaly;
  std::string detail;
};

class outcome_tally {
 public:
  // `origin`: the start of the run, for the times in unexpected_examples.
  outcome_tally(const restart_log& restarts, clock::time_point origin)
      : restarts_(restarts), origin_(origin) {}

  // Counts and judges one finished call.
  void record(const call_record& call);

  struct summary {
    std::uint64_t calls = 0;
    // "ok", an errc name, or an anomaly's name.
    std::map<std::string, std::uint64_t> by_outcome;
    // "stable/unary_echo" -> outcome -> count.
    std::map<std::string, std::map<std::string, std::uint64_t>> by_operation;
    // Expected errors by what explains them: "cancelled by the soak", "short deadline",
    // "around a restart".
    std::map<std::string, std::uint64_t> explained;
    // By target ("stable", "restarted"): calls that ended ok or as the soak meant them to (a
    // cancel, a short deadline), i.e. that the peer really served.
    std::map<std::string, std::uint64_t> as_intended;
    std::uint64_t unexpected = 0;
    std::vector<std::string> unexpected_examples;  // the first few, described
  };
  summary snapshot() const;

 private:
  // Why an error is expected, or std::nullopt when it is not.
  std::optional<std::string> explain(const call_record& call) const;

  const restart_log& restarts_;
  mutable std::mutex mutex_;
  clock::time_point origin_;
  summary summary_;
};

}  // namespace duplex_soak
