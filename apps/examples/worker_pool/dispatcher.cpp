#include "dispatcher.hpp"

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>

namespace worker_pool {

namespace {

struct completion {
  std::int64_t job_id;
  duplex::result<job_result> outcome;
};

// Hands finished calls from Duplex threads, where the callbacks must not block, to the
// dispatching thread.
class completion_queue {
 public:
  void push(completion done) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back(std::move(done));
    }
    arrived_.notify_one();
  }

  std::optional<completion> pop(std::chrono::milliseconds limit) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!arrived_.wait_for(lock, limit, [this] { return !queue_.empty(); })) return std::nullopt;
    auto done = std::move(queue_.front());
    queue_.pop_front();
    return done;
  }

 private:
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::deque<completion> queue_;
};

bool worth_retrying(duplex::errc code) {
  // The worker went away, or did not answer in time: the job may or may not have run.
  return code == duplex::errc::unavailable || code == duplex::errc::deadline_exceeded;
}

}  // namespace

int dispatch_report::total_retries() const {
  int total = 0;
  for (const auto& [code, count] : retries) total += count;
  return total;
}

dispatch_report dispatch(duplex::rpc::caller& rpc, const dispatch_plan& plan) {
  // Shared with the callbacks, which may outlive this function when it throws.
  auto completions = std::make_shared<completion_queue>();
  duplex::rpc::call_options options;
  options.timeout = plan.call_timeout;  // an empty peer: the round robin picks the worker
  auto send = [&](std::int64_t job_id) {
    rpc.call_async<job_result>(run_method, job_request{job_id}, options,
                               [completions, job_id](duplex::result<job_result> outcome) {
                                 completions->push({job_id, std::move(outcome)});
                               });
  };

  dispatch_report report;
  report.results.resize(plan.jobs);
  std::vector<int> attempts(plan.jobs, 0);
  std::deque<std::int64_t> waiting;  // retries first, then new jobs in id order
  std::int64_t next_new_job = 1;
  std::int64_t recorded = 0;
  int in_flight = 0;
  std::size_t next_milestone = 0;  // in the plan's order

  while (recorded < plan.jobs) {
    while (in_flight < plan.in_flight && (!waiting.empty() || next_new_job <= plan.jobs)) {
      std::int64_t job_id = next_new_job;
      if (!waiting.empty()) {
        job_id = waiting.front();
        waiting.pop_front();
      } else {
        ++next_new_job;
      }
      ++attempts[job_id - 1];
      send(job_id);
      ++in_flight;
    }

    auto done = completions->pop(plan.call_timeout + std::chrono::seconds{5});
    if (!done)
      throw duplex::exception(
          {duplex::errc::deadline_exceeded, "no call finished within the call timeout"});
    --in_flight;

    if (!done->outcome) {
      auto failure = done->outcome.error();
      if (!worth_retrying(failure.code) || attempts[done->job_id - 1] >= plan.max_attempts)
        throw duplex::exception(
            {failure.code, "job " + std::to_string(done->job_id) + " failed: " + failure.message});
      ++report.retries[std::string(duplex::to_string(failure.code))];
      if (report.first_retry.empty())
        report.first_retry = "job " + std::to_string(done->job_id) + ", " + failure.to_string();
      waiting.push_front(done->job_id);
      continue;
    }

    auto& slot = report.results[done->job_id - 1];
    if (slot) {
      ++report.duplicates;
      continue;
    }
    slot = std::move(*done->outcome);
    ++report.results_by_worker[slot->worker];
    ++recorded;
    while (next_milestone < plan.milestones.size() &&
           recorded >= plan.milestones[next_milestone].results)
      plan.milestones[next_milestone++].action();
  }
  return report;
}

}  // namespace worker_pool
