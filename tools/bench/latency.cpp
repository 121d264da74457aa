#include "latency.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace duplex_bench {

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double latency_recorder::percentile_us(double p) {
  if (samples_.empty()) return 0.0;
  auto index = static_cast<std::size_t>(p * static_cast<double>(samples_.size() - 1));
  std::nth_element(samples_.begin(), samples_.begin() + static_cast<std::ptrdiff_t>(index),
                   samples_.end());
  return static_cast<double>(samples_[index]) / 1000.0;
}

void print_result(const settings& s, long done, double secs, latency_recorder* latencies) {
  double p50 = latencies ? latencies->percentile_us(0.50) : 0.0;
  double p99 = latencies ? latencies->percentile_us(0.99) : 0.0;
  std::printf(
      "RESULT sys=duplex api=%s mode=%s size=%zu n=%ld secs=%.4f rate=%.1f p50_us=%.2f "
      "p99_us=%.2f\n",
      s.api.empty() ? "-" : s.api.c_str(), s.mode.c_str(), s.size, done, secs,
      static_cast<double>(done) / secs, p50, p99);
  std::fflush(stdout);
}

}  // namespace duplex_bench
