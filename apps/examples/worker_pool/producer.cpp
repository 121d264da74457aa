// duplex-example-worker-pool: a producer starts N duplex-example-worker processes, spreads
// jobs over them round-robin with a bounded number in flight, hangs one worker midway
// (SIGSTOP, so that it holds the jobs the round robin keeps giving it), kills it (SIGKILL) and
// retries its unfinished jobs on the others. It exits 0 when every job has exactly one correct
// result and the kill caused at least one retry.
//
//   duplex-example-worker-pool [--workers 3] [--jobs 10000] [--in-flight 64] [--worker PATH]
//                              [--key FILE --allow KEY|FILE|DIR... --worker-key FILE]
//
// With --key the producer's endpoint is CURVE: the workers get --key WORKER-KEY and the
// producer's public key as --server-key, and the producer lets in the keys --allow names.
#include <duplex/duplex.hpp>
#include <duplex/rpc.hpp>

#include <CLI/CLI.hpp>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/key_flags.hpp"
#include "common/process.hpp"
#include "dispatcher.hpp"
#include "jobs.hpp"

using namespace duplex_examples;  // child_process, termination signals, key_flags

using namespace std::chrono_literals;
using namespace worker_pool;

namespace {

struct settings {
  int workers = 3;
  std::int64_t jobs = 10'000;
  int in_flight = 64;
  std::int64_t kill_after = 3'000;  // results in before one worker is hung, then killed
  std::string worker_program;
  key_flags keys;          // the producer's own
  std::string worker_key;  // the workers' key pair, with --key
};

struct worker {
  std::string id;
  child_process process;
};

std::string program_next_to_this_one(const std::string& name) {
  return (std::filesystem::read_symlink("/proc/self/exe").parent_path() / name).string();
}

std::vector<worker> start_workers(const settings& s, const std::string& endpoint,
                                  const duplex::security_options& security) {
  std::vector<worker> workers;
  for (int i = 1; i <= s.workers; ++i) {
    auto id = "worker-" + std::to_string(i);
    std::vector<std::string> argv{s.worker_program, "--connect", endpoint, "--id", id};
    if (security.curve)
      argv.insert(argv.end(), {"--key", s.worker_key, "--server-key", security.curve->public_key});
    workers.push_back({id, child_process(std::move(argv))});
    std::cout << "producer: started " << id << " (pid " << workers.back().process.pid() << ")\n";
  }
  return workers;
}

void wait_for_workers(duplex::peer& producer, std::size_t count) {
  auto give_up = std::chrono::steady_clock::now() + 10s;
  while (producer.peers().size() < count) {
    if (std::chrono::steady_clock::now() >= give_up) {
      auto connected = std::to_string(producer.peers().size());
      throw duplex::exception(
          {duplex::errc::unavailable,
           connected + " of " + std::to_string(count) + " workers connected within 10 s"});
    }
    std::this_thread::sleep_for(10ms);
  }
  std::cout << "producer: all " << count << " workers connected\n";
}

// Results the others deliver while the victim hangs; the round robin hands the victim about a
// third of the jobs sent meanwhile, so it surely holds unfinished jobs when it is killed (a
// worker killed while running free may have answered everything it had).
constexpr std::int64_t results_while_hung = 30;

void hang_worker(worker& victim, std::int64_t results_so_far) {
  std::cout << "producer: " << results_so_far << " results in; hanging " << victim.id << " (pid "
            << victim.process.pid() << ") with SIGSTOP\n";
  victim.process.suspend();
}

void kill_worker(worker& victim, std::int64_t results_so_far) {
  std::cout << "producer: " << results_so_far << " results in; killing " << victim.id << " (pid "
            << victim.process.pid() << ") with SIGKILL\n";
  auto status = victim.process.kill();
  std::cout << "producer: " << victim.id << " ended by " << status.describe() << "\n";
}

// The surviving workers print how many jobs they ran as they exit.
bool stop_workers(std::vector<worker>& workers) {
  std::cout << std::flush;  // our lines first
  bool all_clean = true;
  for (auto& w : workers) {
    if (w.process.pid() <= 0) continue;  // the one we killed is already reaped
    auto status = w.process.stop(5s);
    if (!status.ok()) {
      std::cout << "producer: " << w.id << " ended by " << status.describe() << "\n";
      all_clean = false;
    }
  }
  return all_clean;
}

std::string describe(const std::map<std::string, int>& counts) {
  std::string text;
  for (const auto& [name, count] : counts)
    text += (text.empty() ? "" : ", ") + name + " " + std::to_string(count);
  return text.empty() ? "none" : text;
}

// Every job id has its result, exactly once, and the right one.
bool verify(const dispatch_report& report, std::int64_t jobs) {
  std::int64_t missing = 0;
  std::int64_t wrong = 0;
  for (std::int64_t id = 1; id <= jobs; ++id) {
    const auto& result = report.results[id - 1];
    if (!result)
      ++missing;
    else if (result->job_id != id || result->value != collatz_steps(id))
      ++wrong;
  }
  if (missing == 0 && wrong == 0) {
    std::cout << "verified: each of the " << jobs
              << " job ids has exactly one result, and every value is right\n";
    return true;
  }
  std::cout << "FAILED: " << missing << " job ids without a result, " << wrong
            << " with a wrong one\n";
  return false;
}

bool run(const settings& s) {
  duplex::runtime rt;
  duplex::peer_options options;
  options.peer_id = "producer";
  s.keys.apply(options);  // it only binds: no connect options
  duplex::peer producer{rt, options};
  duplex::rpc::service_registry no_services;  // it only calls
  duplex::rpc::node rpc{producer, no_services};
  auto endpoint = producer.bind("tcp://127.0.0.1:0").value();
  std::cout << "producer: listening on " << endpoint << "\n";
  if (options.security.curve)
    std::cout << "producer: CURVE on, public key " << options.security.curve->public_key
              << ", allowing " << options.security.allowed_keys.size() << " client keys"
              << (options.security.allow_any_key ? " (and any other)" : "") << "\n";

  // Declared after the node: on any failure the workers are killed and reaped first.
  auto workers = start_workers(s, endpoint, options.security);
  wait_for_workers(producer, workers.size());

  dispatch_plan plan;
  plan.jobs = s.jobs;
  plan.in_flight = s.in_flight;
  auto& victim = workers.at(workers.size() / 2);
  auto kill_at = s.kill_after + results_while_hung;
  plan.milestones = {{s.kill_after, [&] { hang_worker(victim, s.kill_after); }},
                     {kill_at, [&, kill_at] { kill_worker(victim, kill_at); }}};
  std::cout << "producer: running " << s.jobs << " jobs, at most " << s.in_flight << " in flight\n";
  auto started = std::chrono::steady_clock::now();
  auto report = dispatch(rpc, plan);
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  if (!report.first_retry.empty())
    std::cout << "producer: retried the calls that failed; the first: " << report.first_retry
              << "\n";
  bool workers_clean = stop_workers(workers);

  std::int64_t results = 0;
  for (const auto& r : report.results) results += r ? 1 : 0;
  std::cout << "summary: jobs " << s.jobs << ", results " << results << ", retries "
            << report.total_retries() << " (" << describe(report.retries)
            << "), duplicates ignored " << report.duplicates
            << ", per worker: " << describe(report.results_by_worker) << ", took " << took.count()
            << " ms\n";
  bool all_verified = verify(report, s.jobs);
  bool kill_retried = report.retries.count("unavailable") > 0;
  if (!kill_retried) std::cout << "FAILED: the kill caused no retry\n";
  return all_verified && kill_retried && workers_clean;
}

}  // namespace

int main(int argc, char** argv) {
  settings s;
  s.worker_program = program_next_to_this_one("duplex-example-worker");
  CLI::App app{"Spreads jobs over worker processes and survives losing one"};
  app.footer(key_flags_help);
  app.add_option("--workers", s.workers, "Worker processes to start")->check(CLI::Range(2, 64));
  app.add_option("--jobs", s.jobs, "Jobs to run")->check(CLI::PositiveNumber);
  app.add_option("--in-flight", s.in_flight, "Most jobs running at once")
      ->check(CLI::PositiveNumber);
  app.add_option("--kill-after", s.kill_after, "Results before a worker is hung, then killed")
      ->check(CLI::PositiveNumber);
  app.add_option("--worker", s.worker_program, "The duplex-example-worker program");
  app.add_option("--worker-key", s.worker_key, "With --key: the workers' key pair")
      ->check(CLI::ExistingFile);
  try {
    s.keys = key_flags::take(argc, argv);
  } catch (const std::invalid_argument& e) {
    std::cerr << e.what() << "\n";
    return 2;
  }
  CLI11_PARSE(app, argc, argv);
  if (s.keys.key.empty() != s.worker_key.empty()) {
    std::cerr << "--key and --worker-key go together\n";
    return 2;
  }
  if (s.kill_after + results_while_hung >= s.jobs) {
    std::cerr << "--kill-after must be at least " << results_while_hung + 1 << " below --jobs\n";
    return 2;
  }

  try {
    bool passed = run(s);
    std::cout << (passed ? "worker pool: PASSED" : "worker pool: FAILED") << std::endl;
    return passed ? 0 : 1;
  } catch (const std::exception& e) {
    std::cout << std::flush;
    std::cerr << "worker pool: FAILED: " << e.what() << std::endl;
    return 1;
  }
}
