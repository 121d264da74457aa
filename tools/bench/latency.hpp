// The clock, latency percentiles and the RESULT line, exactly as the shared peer harness
// prints them (shared/bench/peers/common.hpp), so that one parser reads every system.
#pragma once

#include <cstdint>
#include <vector>

#include "command_line.hpp"

namespace duplex_bench {

std::int64_t now_ns();

class latency_recorder {
 public:
  void reserve(std::size_t n) { samples_.reserve(n); }
  void add(std::int64_t ns) { samples_.push_back(ns); }
  // The p-quantile (0..1) in microseconds, 0 when nothing was recorded.
  double percentile_us(double p);

 private:
  std::vector<std::int64_t> samples_;
};

// RESULT sys=duplex api=<> mode=<> size=<> n=<> secs=<> rate=<> p50_us=<> p99_us=<>
// `latencies` may be null (streams): p50 and p99 are then 0.
void print_result(const settings& s, long done, double secs, latency_recorder* latencies);

}  // namespace duplex_bench
