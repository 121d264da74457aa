// Resource figures read from /proc, the samples the soak takes every few seconds, and the
// trend of a figure over a run.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace duplex_soak {

// VmRSS of a process in KiB (pid 0: this process); std::nullopt when it cannot be read.
std::optional<std::uint64_t> resident_kib(pid_t pid);
// Threads of a process (pid 0: this process).
std::optional<std::uint64_t> thread_count(pid_t pid);
// Entries of /proc/<pid>/fd (pid 0: this process), the reading itself not counted.
std::optional<std::size_t> open_fds(pid_t pid);

struct sample {
  double at_s = 0;  // seconds since traffic started; negative for the baseline
  std::uint64_t driver_rss_kib = 0;
  std::uint64_t stable_rss_kib = 0;  // 0 when the stable peer's figures could not be read
  std::size_t driver_fds = 0;
  std::size_t stable_fds = 0;
  std::uint64_t driver_threads = 0;
  std::uint64_t stable_threads = 0;
  std::size_t channels = 0;      // the driver's peer::channel_count()
  std::size_t active_calls = 0;  // the driver's rpc::node::active_calls()
  std::uint64_t calls = 0;       // calls finished so far
};

// A figure (e.g. driver RSS) over a run.
struct trend {
  double at_1min = 0;  // the sample nearest to one minute into the traffic
  double final = 0;    // the sample taken after the traffic stopped
  // Least-squares slope over the last half of the traffic, in % of at_1min per minute.
  double slope_pct_per_min = 0;
  std::size_t slope_samples = 0;
};

// `traffic` are the samples taken while traffic ran (at_s >= 0), `final_value` the figure
// after it stopped, `duration_s` how long it ran.
trend trend_of(const std::vector<sample>& traffic,
               const std::function<double(const sample&)>& figure, double final_value,
               double duration_s);

}  // namespace duplex_soak
