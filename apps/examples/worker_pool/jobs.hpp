// What the producer and its workers agree on: the `jobs/run` method, its messages and the
// work itself, so that the producer can check every answer.
#pragma once

#include <msgpack.hpp>

#include <cstdint>
#include <string>

namespace worker_pool {

inline constexpr const char* run_method = "jobs/run";

struct job_request {
  std::int64_t job_id = 0;
  MSGPACK_DEFINE_MAP(job_id)
};

struct job_result {
  std::int64_t job_id = 0;
  std::int64_t value = 0;
  std::string worker;  // who ran it, for the per-worker counts
  MSGPACK_DEFINE_MAP(job_id, value, worker)
};

// The work: how many Collatz steps take the job id down to 1.
inline std::int64_t collatz_steps(std::int64_t n) {
  std::int64_t steps = 0;
  for (; n > 1; ++steps) n = n % 2 == 0 ? n / 2 : 3 * n + 1;
  return steps;
}

}  // namespace worker_pool
