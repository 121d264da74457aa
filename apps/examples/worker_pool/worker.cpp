// duplex-example-worker: connects to a producer and serves `jobs/run` until it is told to stop
// (SIGTERM, SIGINT) or the producer goes away.
//
//   duplex-example-worker --connect tcp://127.0.0.1:5555 --id worker-1
//                         [--key FILE --server-key KEY|FILE]
#include <duplex/duplex.hpp>
#include <duplex/rpc.hpp>

#include <CLI/CLI.hpp>

#include <atomic>
#include <chrono>
#include <iostream>
#include <random>
#include <stdexcept>
#include <thread>

#include "common/key_flags.hpp"
#include "common/process.hpp"
#include "jobs.hpp"

using namespace duplex_examples;  // child_process, termination signals, key_flags

using namespace std::chrono_literals;
using namespace worker_pool;

namespace {

// A worker whose producer vanished without a trace still ends eventually.
constexpr auto longest_life = 120s;

duplex::rpc::service job_service(const std::string& worker_id, int max_delay_ms,
                                 std::atomic<int>& jobs_run) {
  duplex::rpc::service jobs("jobs", "Runs the producer's jobs");
  jobs.unary<job_request, job_result>(
      {"run", "Counts the Collatz steps of the job id", "JobRequest", "JobResult"},
      [worker_id, max_delay_ms, &jobs_run](
          const job_request& job, duplex::rpc::call_context&) -> duplex::result<job_result> {
        // Handlers run on several threads at once; each gets its own generator.
        thread_local std::mt19937 random{std::random_device{}()};
        std::uniform_int_distribution<int> delay_ms(1, max_delay_ms);
        std::this_thread::sleep_for(std::chrono::milliseconds{delay_ms(random)});
        ++jobs_run;
        return job_result{job.job_id, collatz_steps(job.job_id), worker_id};
      });
  return jobs;
}

// Returns why the worker stops.
std::string wait_for_a_reason_to_stop(const std::atomic<bool>& producer_gone) {
  auto give_up = std::chrono::steady_clock::now() + longest_life;
  while (std::chrono::steady_clock::now() < give_up) {
    if (termination_requested()) return "it was told to stop";
    if (producer_gone) return "the producer went away";
    std::this_thread::sleep_for(20ms);
  }
  return "it lived its longest life";
}

std::string serve_until_stopped(duplex::peer& self) {
  std::atomic<bool> producer_gone{false};
  // Runs on an actor thread: only set the flag.
  self.on_event([&producer_gone](const duplex::peer_event& event) {
    if (event.what == duplex::peer_event::kind::disconnected) producer_gone = true;
  });
  auto reason = wait_for_a_reason_to_stop(producer_gone);
  self.on_event(nullptr);
  return reason;
}

}  // namespace

int main(int argc, char** argv) {
  std::string producer_endpoint;
  std::string worker_id = "worker";
  int max_delay_ms = 5;
  std::size_t threads = 16;
  CLI::App app{"Serves jobs/run for a duplex-example-worker-pool producer"};
  app.footer(key_flags_help);
  app.add_option("--connect", producer_endpoint, "The producer's endpoint")->required();
  app.add_option("--id", worker_id, "This worker's peer id");
  app.add_option("--max-delay-ms", max_delay_ms, "Pretend work per job: 1 ms up to this")
      ->check(CLI::PositiveNumber);
  app.add_option("--threads", threads, "Jobs run at once")->check(CLI::Range(1, 64));
  key_flags keys;
  try {
    keys = key_flags::take(argc, argv);
  } catch (const std::invalid_argument& e) {
    std::cerr << e.what() << "\n";
    return 2;
  }
  CLI11_PARSE(app, argc, argv);
  catch_termination_signals();

  std::atomic<int> jobs_run{0};
  std::string reason;
  try {
    duplex::runtime rt;
    duplex::peer_options options;
    options.peer_id = worker_id;
    // The jobs mostly wait, so many can run at once on few cores.
    options.handler_threads = threads;
    auto connect = keys.apply(options);
    duplex::peer self{rt, options};
    duplex::rpc::service_registry services;
    services.add(job_service(worker_id, max_delay_ms, jobs_run)).value();
    duplex::rpc::node rpc{self, services};
    self.connect(producer_endpoint, connect).value();
    reason = serve_until_stopped(self);
  } catch (const std::exception& e) {
    std::cerr << worker_id << ": FAILED: " << e.what() << std::endl;
    return 1;
  }
  std::cout << worker_id << ": ran " << jobs_run << " jobs, stopped because " << reason
            << std::endl;
  return 0;
}
