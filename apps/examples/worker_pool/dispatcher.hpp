// Spreads jobs over whichever workers are connected, keeps a bounded number in flight and
// retries the jobs whose worker went away.
#pragma once

#include <duplex/rpc.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "jobs.hpp"

namespace worker_pool {

struct dispatch_plan {
  std::int64_t jobs = 10'000;  // job ids 1..jobs
  int in_flight = 64;
  int max_attempts = 5;  // per job
  std::chrono::milliseconds call_timeout = std::chrono::seconds{10};
  // Each runs once on the dispatching thread when its number of results is in.
  struct milestone {
    std::int64_t results;
    std::function<void()> action;
  };
  std::vector<milestone> milestones;
};

struct dispatch_report {
  // results[id - 1]: the first result for job `id`, the one that counts.
  std::vector<std::optional<job_result>> results;
  std::int64_t duplicates = 0;         // later results for a job that already had one
  std::map<std::string, int> retries;  // by the failure's status code
  std::string first_retry;             // which job failed first, and why
  std::map<std::string, int> results_by_worker;

  int total_retries() const;
};

// Calls `jobs/run` once per job through the node's round robin. A call that fails with
// unavailable or deadline_exceeded is retried, so a job may run more than once; its result is
// recorded once. Until the producer notices a worker is gone the round robin may still pick
// it: such a retry fails again and is retried again, up to max_attempts. Throws
// duplex::exception when a job fails for another reason or too often, or when no call
// finishes for longer than the call timeout.
dispatch_report dispatch(duplex::rpc::caller& rpc, const dispatch_plan& plan);

}  // namespace worker_pool
