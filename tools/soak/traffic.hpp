// The soak's traffic: worker threads that each run a fixed mix of calls and channels against
// the stable and the restarted test peer until the end of the run, every call counted by
// outcome_tally. Every wait is bounded by call_timeout (plus a margin for the hang check).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include <duplex/peer.hpp>
#include <duplex/rpc/node.hpp>

#include "outcomes.hpp"

namespace duplex_soak {

struct traffic_options {
  std::size_t threads = 4;
  // Deadline of every call and bound of every channel exchange the soak expects to succeed.
  std::chrono::milliseconds call_timeout{5000};
  std::uint64_t seed = 1;
  // Names from operation_names() to run; empty: the whole mix (a subset narrows down a leak).
  std::vector<std::string> operations = {};
};

// What the workers call through and count into; everything must outlive the traffic.
struct traffic_context {
  duplex::peer& peer;
  duplex::rpc::node& rpc;
  std::string stable_id;
  std::string restarted_id;
  outcome_tally& tally;
};

// The names of the operations of the mix, in the order a worker runs them.
const std::vector<std::string>& operation_names();

// Runs every operation once against `to`, on this thread (warm-up), counting into the tally.
// Stops at the first unexpected outcome (so that a hanging peer cannot stretch the warm-up to
// one call timeout per operation) and then returns false.
bool run_each_once(const traffic_context& context, const traffic_options& options, target to);

class traffic {
 public:
  // Starts the workers; they stop starting operations at `until` or after stop().
  traffic(const traffic_context& context, const traffic_options& options, clock::time_point until);
  ~traffic();  // stop() and join()
  traffic(const traffic&) = delete;
  traffic& operator=(const traffic&) = delete;

  void stop() { stopping_ = true; }
  // Waits for the workers: at most the end time plus one operation's bound.
  void join();

 private:
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> workers_;
};

}  // namespace duplex_soak
