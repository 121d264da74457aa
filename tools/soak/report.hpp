// The end of a soak: what was measured, the pass/fail checks it implies, the printed report
// and its JSON form.
#pragma once

#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <duplex/error.hpp>

#include "outcomes.hpp"
#include "samples.hpp"

namespace duplex_soak {

// Runs at least this long are held to the memory criteria.
inline constexpr double long_run_s = 15 * 60;
inline constexpr double max_rss_growth = 1.2;             // final RSS / RSS at 1 min
inline constexpr double max_rss_slope_pct_per_min = 1.0;  // over the last half

struct run_data {
  double planned_s = 0;  // --duration
  double traffic_s = 0;  // how long traffic actually ran
  bool interrupted = false;
  std::size_t threads = 0;

  outcome_tally::summary calls;
  restart_log::totals restarts;
  std::size_t sigterm_restarts = 0;
  std::size_t sigkill_restarts = 0;
  std::size_t bind_retries = 0;  // restarts whose first bind of the port failed
  // Anything that went wrong with the restarted peer other than calls: a SIGTERM that did not
  // end it cleanly, an exit nobody asked for, a restart that never reconnected.
  std::vector<std::string> restart_problems;

  std::size_t stable_disconnects = 0;  // the driver lost its connection to the stable peer
  // Connections refused at HELLO or ended by a BYE (a SIGTERM'd peer says goodbye this way).
  std::size_t rejected_connections = 0;
  std::map<std::string, std::size_t> rejections;  // "peer: reason" -> count, a few kinds

  sample baseline;              // after warm-up, before traffic, with nothing in flight
  std::vector<sample> samples;  // while traffic ran
  sample final;                 // after traffic stopped and settled
  double settle_s = 0;          // how long settling took

  // The stable peer at the end: whether it was still running and answered a call.
  bool stable_running = false;
  std::string stable_exit;  // when and how it ended before it was asked to; empty: it did not
  duplex::error stable_final_call{duplex::errc::unknown, "not made"};
  std::string stable_stop;  // how it ended at SIGTERM: "exit code 0 (STOPPED)", ...
  bool stable_stopped_cleanly = false;
};

struct check {
  std::string name;
  bool passed = false;
  std::string detail;
};

struct report {
  trend driver_rss;
  trend stable_rss;
  std::vector<check> checks;
  bool passed() const;
};

report evaluate(const run_data& run);
void print(std::ostream& out, const run_data& run, const report& result);
// Writes `path` (the report and every sample); unknown with the reason when it cannot.
duplex::result<void> write_json(const std::string& path, const run_data& run, const report& result);

}  // namespace duplex_soak
