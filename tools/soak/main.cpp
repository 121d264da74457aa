// duplex-soak: reliability test F1. Starts a stable and a restarted duplex-testpeer, runs mixed
// traffic against both from a few threads while the restarted one is stopped (SIGTERM and
// SIGKILL in turn) and started again on the same port every 20 s, samples resources every 5 s
// and ends with a report and an exit code: 0 when every check passed, 1 when one failed, 2
// when the soak could not be set up.
#include <signal.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>
#include <duplex/duplex.hpp>
#include <duplex/rpc.hpp>

#include "harness/testpeer_protocol.hpp"
#include "outcomes.hpp"
#include "report.hpp"
#include "samples.hpp"
#include "testpeer_launch.hpp"
#include "traffic.hpp"

namespace duplex_soak {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using seconds_f = std::chrono::duration<double>;

// Liveness and reconnection settings of every peer of the soak (reference §4, test values).
constexpr milliseconds heartbeat_interval{1000};
constexpr milliseconds heartbeat_timeout{3000};
constexpr milliseconds reconnect_interval{100};
constexpr milliseconds reconnect_interval_max{1000};
constexpr milliseconds linger{1000};
// A restarted peer's calls may fail until this long after the driver is connected to it again.
constexpr auto restart_grace = heartbeat_timeout + seconds{1};
// Bounds on the test peers' start and stop, and on reconnecting after a restart.
constexpr milliseconds startup_limit{10000};
constexpr milliseconds graceful_stop_limit{5000};
constexpr milliseconds reconnect_limit{10000};
constexpr milliseconds bind_retry_pause{200};
// After traffic stops, how long channels and fds get to go back to their baseline.
constexpr milliseconds settle_limit{5000};
constexpr milliseconds settle_poll{100};
// How often the main loop looks at its clock and at the interrupt flag.
constexpr milliseconds main_tick{100};
constexpr std::size_t progress_every_samples = 6;
constexpr std::size_t max_rejection_kinds = 10;

const std::string driver_id = "soak-driver";
const std::string stable_id = "soak-stable";
const std::string restarted_id = "soak-restarted";

std::atomic<bool> interrupt_requested{false};
void on_interrupt(int) {
  interrupt_requested = true;
}

struct settings {
  std::string testpeer;
  std::string duration = "120";
  std::string out_dir;
  std::size_t threads = 4;
  double restart_every_s = 20;
  double sample_every_s = 5;
  int call_timeout_ms = 5000;
  std::uint64_t seed = 1;
  std::vector<std::string> operations;
};

// "120", "90s", "2m", "15m", "1h": seconds; std::nullopt when malformed.
std::optional<double> parse_duration(const std::string& text) {
  if (text.empty()) return std::nullopt;
  double unit = 1;
  std::string number = text;
  switch (text.back()) {
    case 's':
      number.pop_back();
      break;
    case 'm':
      unit = 60;
      number.pop_back();
      break;
    case 'h':
      unit = 3600;
      number.pop_back();
      break;
    default:
      break;
  }
  try {
    std::size_t used = 0;
    double value = std::stod(number, &used);
    if (used != number.size() || value <= 0) return std::nullopt;
    return value * unit;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::vector<std::string> peer_settings() {
  return {"--heartbeat-ms",
          std::to_string(heartbeat_interval.count()),
          "--heartbeat-timeout-ms",
          std::to_string(heartbeat_timeout.count()),
          "--reconnect-ms",
          std::to_string(reconnect_interval.count()),
          "--reconnect-max-ms",
          std::to_string(reconnect_interval_max.count()),
          "--linger-ms",
          std::to_string(linger.count())};
}

// What the driver's peer reports about its connections (the callback runs on an actor thread).
class connection_watch {
 public:
  explicit connection_watch(restart_log& restarts) : restarts_(restarts) {}

  void on_event(const duplex::peer_event& event) {
    auto now = clock::now();
    std::lock_guard<std::mutex> lock(mutex_);
    switch (event.what) {
      case duplex::peer_event::kind::connected:
        connected_.insert(event.remote_peer_id);
        if (event.remote_peer_id == restarted_id) restarts_.reconnected(now);
        break;
      case duplex::peer_event::kind::disconnected:
        connected_.erase(event.remote_peer_id);
        if (event.remote_peer_id == stable_id) ++stable_disconnects_;
        break;
      case duplex::peer_event::kind::rejected:
        ++rejected_;
        {
          auto kind = event.remote_peer_id + ": " + event.reason.to_string();
          if (rejections_.count(kind) > 0 || rejections_.size() < max_rejection_kinds)
            ++rejections_[kind];
        }
        break;
    }
    changed_.notify_all();
  }

  bool wait_connected(const std::string& peer_id, milliseconds limit) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, limit, [&] { return connected_.count(peer_id) > 0; });
  }

  void fill(run_data& run) const {
    std::lock_guard<std::mutex> lock(mutex_);
    run.stable_disconnects = stable_disconnects_;
    run.rejected_connections = rejected_;
    run.rejections = rejections_;
  }

 private:
  restart_log& restarts_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::set<std::string> connected_;
  std::size_t stable_disconnects_ = 0;
  std::size_t rejected_ = 0;
  std::map<std::string, std::size_t> rejections_;
};

class soak {
 public:
  explicit soak(settings s) : settings_(std::move(s)) {}

  int run();

 private:
  // Starts a test peer bound to `endpoint` and waits for READY.
  duplex::result<running_testpeer> start_peer(const std::string& id, const std::string& endpoint);
  // Stops the restarted peer with `signal` and starts it again on the same endpoint.
  void restart(int signal);
  // The restarted peer ended without being asked: note it and start it again.
  void check_restarted_alive();
  // Notes when and how the stable peer ended, if it did; true while it runs.
  bool check_stable_alive();
  sample take_sample(double at_s);
  // Waits (at most settle_limit) until channels, active calls and fds are at most those of
  // `limit`; returns how long it waited.
  double settle(const sample& limit);
  void stop_stable(run_data& run);

  settings settings_;
  clock::time_point origin_ = clock::now();
  restart_log restarts_{restart_grace};
  connection_watch watch_{restarts_};
  outcome_tally tally_{restarts_, origin_};

  std::unique_ptr<duplex_examples::child_process> stable_;
  std::unique_ptr<duplex_examples::child_process> restarted_;
  std::string stable_endpoint_;
  std::string restarted_endpoint_;

  duplex::peer* peer_ = nullptr;
  duplex::rpc::node* rpc_ = nullptr;
  run_data data_;
};

duplex::result<running_testpeer> soak::start_peer(const std::string& id,
                                                  const std::string& endpoint) {
  std::vector<std::string> argv = {settings_.testpeer, "--bind", endpoint, "--id", id};
  for (auto& setting : peer_settings()) argv.push_back(setting);
  return start_testpeer(std::move(argv), startup_limit);
}

void soak::restart(int signal) {
  auto problem = [&](const std::string& text) {
    double at = seconds_f(clock::now() - origin_).count();
    data_.restart_problems.push_back("t=" + std::to_string(static_cast<int>(at)) + "s " + text);
  };
  restarts_.signalled(clock::now());
  if (signal == SIGTERM) ++data_.sigterm_restarts;
  if (signal == SIGKILL) ++data_.sigkill_restarts;
  if (restarted_ && signal == SIGTERM) {
    // stop() sends SIGKILL after the grace period: a SIGKILL status means it did not exit.
    auto status = restarted_->stop(graceful_stop_limit);
    if (status.signal == SIGKILL) {
      problem("still running " + std::to_string(graceful_stop_limit.count()) +
              " ms after SIGTERM; killed");
    } else if (!status.ok()) {
      problem("SIGTERM ended it with " + status.describe());
    } else if (!next_line(*restarted_, "STOPPED", graceful_stop_limit)) {
      problem("exited after SIGTERM without printing STOPPED");
    }
  } else if (restarted_) {
    // Anything but SIGKILL's own status means it had ended before, on its own.
    auto status = restarted_->kill();
    if (status.signal != SIGKILL) problem("had ended before SIGKILL with " + status.describe());
  }
  restarted_.reset();

  auto give_up = clock::now() + startup_limit;
  for (bool first = true;; first = false) {
    auto child = start_peer(restarted_id, restarted_endpoint_);
    if (child) {
      restarted_ = std::move(child->process);
      break;
    }
    if (first) ++data_.bind_retries;
    if (clock::now() >= give_up) {
      problem("could not start again on " + restarted_endpoint_ + ": " + child.error().to_string());
      return;
    }
    std::this_thread::sleep_for(bind_retry_pause);
  }
  if (!restarts_.wait_reconnected(clock::now() + reconnect_limit))
    problem("the driver did not reconnect within " + std::to_string(reconnect_limit.count()) +
            " ms of READY");
}

void soak::check_restarted_alive() {
  if (restarted_) {
    auto status = restarted_->wait_exit(milliseconds{0});
    if (!status) return;
    double at = seconds_f(clock::now() - origin_).count();
    data_.restart_problems.push_back(
        "t=" + std::to_string(static_cast<int>(at)) +
        "s the restarted peer ended on its own: " + status->describe());
  }
  // Started again like a restart, so that its calls' failures are judged around it.
  restarts_.signalled(clock::now());
  restarted_.reset();
  auto child = start_peer(restarted_id, restarted_endpoint_);
  if (child) restarted_ = std::move(child->process);
}

bool soak::check_stable_alive() {
  if (!data_.stable_exit.empty()) return false;
  auto status = stable_->wait_exit(milliseconds{0});
  if (!status) return true;
  double at = seconds_f(clock::now() - origin_).count();
  data_.stable_exit =
      "ended at t=" + std::to_string(static_cast<int>(at)) + "s with " + status->describe();
  std::cout << "the stable peer " << data_.stable_exit << std::endl;
  return false;
}

sample soak::take_sample(double at_s) {
  sample s;
  s.at_s = at_s;
  s.driver_rss_kib = resident_kib(0).value_or(0);
  s.driver_fds = open_fds(0).value_or(0);
  s.driver_threads = thread_count(0).value_or(0);
  if (stable_) {
    s.stable_rss_kib = resident_kib(stable_->pid()).value_or(0);
    s.stable_fds = open_fds(stable_->pid()).value_or(0);
    s.stable_threads = thread_count(stable_->pid()).value_or(0);
  }
  s.channels = peer_->channel_count();
  s.active_calls = rpc_->active_calls();
  s.calls = tally_.snapshot().calls;
  return s;
}

double soak::settle(const sample& limit) {
  auto started = clock::now();
  auto give_up = started + settle_limit;
  while (clock::now() < give_up) {
    auto now = take_sample(0);
    if (now.channels <= limit.channels && now.active_calls <= limit.active_calls &&
        now.driver_fds <= limit.driver_fds && now.stable_fds <= limit.stable_fds)
      break;
    std::this_thread::sleep_for(settle_poll);
  }
  return seconds_f(clock::now() - started).count();
}

void soak::stop_stable(run_data& run) {
  if (!run.stable_exit.empty()) {
    run.stable_stop = "had already " + run.stable_exit;
    return;
  }
  auto status = stable_->stop(graceful_stop_limit);
  if (status.signal == SIGKILL) {
    run.stable_stop = "still running " + std::to_string(graceful_stop_limit.count()) +
                      " ms after SIGTERM; killed";
    return;
  }
  bool stopped_line = next_line(*stable_, "STOPPED", graceful_stop_limit).has_value();
  run.stable_stop = status.describe() + (stopped_line ? ", printed STOPPED" : ", no STOPPED");
  run.stable_stopped_cleanly = status.ok() && stopped_line;
}

int soak::run() {
  auto duration_s = parse_duration(settings_.duration);
  if (!duration_s) {
    std::cerr << "duplex-soak: bad --duration " << settings_.duration << "\n";
    return 2;
  }
  data_.planned_s = *duration_s;
  data_.threads = settings_.threads;

  auto stable = start_peer(stable_id, "tcp://127.0.0.1:0");
  if (!stable) {
    std::cerr << "duplex-soak: cannot start the stable peer: " << stable.error() << "\n";
    return 2;
  }
  stable_ = std::move(stable->process);
  stable_endpoint_ = stable->endpoint;
  auto restarted = start_peer(restarted_id, "tcp://127.0.0.1:0");
  if (!restarted) {
    std::cerr << "duplex-soak: cannot start the restarted peer: " << restarted.error() << "\n";
    return 2;
  }
  restarted_ = std::move(restarted->process);
  restarted_endpoint_ = restarted->endpoint;
  std::cout << "stable peer pid " << stable_->pid() << " on " << stable_endpoint_
            << "; restarted peer pid " << restarted_->pid() << " on " << restarted_endpoint_
            << std::endl;

  duplex::runtime rt;
  duplex::peer_options options;
  options.peer_id = driver_id;
  options.heartbeat_interval = heartbeat_interval;
  options.heartbeat_timeout = heartbeat_timeout;
  options.reconnect_interval = reconnect_interval;
  options.reconnect_interval_max = reconnect_interval_max;
  options.linger = linger;
  duplex::peer peer(rt, options);
  peer.on_event([this](const duplex::peer_event& event) { watch_.on_event(event); });
  duplex::rpc::service_registry no_services;
  duplex::rpc::node rpc(peer, no_services);
  peer_ = &peer;
  rpc_ = &rpc;

  for (const auto& endpoint : {stable_endpoint_, restarted_endpoint_}) {
    if (auto connected = peer.connect(endpoint); !connected) {
      std::cerr << "duplex-soak: cannot connect to " << endpoint << ": " << connected.error()
                << "\n";
      return 2;
    }
  }
  for (const auto& id : {stable_id, restarted_id}) {
    if (!watch_.wait_connected(id, startup_limit)) {
      std::cerr << "duplex-soak: no connection to " << id << " within " << startup_limit.count()
                << " ms\n";
      return 2;
    }
  }

  traffic_options traffic_settings;
  traffic_settings.threads = settings_.threads;
  traffic_settings.call_timeout = milliseconds{settings_.call_timeout_ms};
  traffic_settings.seed = settings_.seed;
  traffic_settings.operations = settings_.operations;
  traffic_context context{peer, rpc, stable_id, restarted_id, tally_};

  // Warm-up: every operation once against each peer, then the baseline with nothing in flight.
  for (auto to : {target::stable, target::restarted})
    if (!run_each_once(context, traffic_settings, to))
      std::cout << "warm-up: an unexpected outcome from the " << to_string(to)
                << " peer (see the report)" << std::endl;
  sample idle;  // nothing in flight; fds as they come
  idle.driver_fds = idle.stable_fds = std::numeric_limits<std::size_t>::max();
  settle(idle);
  data_.baseline = take_sample(-1);
  std::cout << "baseline: driver " << data_.baseline.driver_fds << " fds, "
            << data_.baseline.channels << " channels, " << data_.baseline.active_calls
            << " active calls; stable " << data_.baseline.stable_fds << " fds" << std::endl;

  auto traffic_start = clock::now();
  auto traffic_end =
      traffic_start + std::chrono::duration_cast<clock::duration>(seconds_f(*duration_s));
  auto sample_every =
      std::chrono::duration_cast<clock::duration>(seconds_f(settings_.sample_every_s));
  auto restart_every =
      std::chrono::duration_cast<clock::duration>(seconds_f(settings_.restart_every_s));
  auto next_sample = traffic_start + sample_every;
  auto next_restart = traffic_start + restart_every;
  bool next_signal_is_term = true;
  {
    traffic load(context, traffic_settings, traffic_end);
    while (!interrupt_requested) {
      auto now = clock::now();
      if (now >= traffic_end) break;
      if (now >= next_sample) {
        next_sample += sample_every;
        data_.samples.push_back(take_sample(seconds_f(now - traffic_start).count()));
        check_restarted_alive();
        check_stable_alive();
        if (data_.samples.size() % progress_every_samples == 0) {
          const auto& s = data_.samples.back();
          auto calls = tally_.snapshot();
          std::cout << "[" << static_cast<int>(s.at_s) << " s] calls " << calls.calls
                    << " (unexpected " << calls.unexpected << "), restarts "
                    << restarts_.snapshot().restarts << ", driver RSS " << s.driver_rss_kib / 1024
                    << " MiB, stable RSS " << s.stable_rss_kib / 1024 << " MiB ("
                    << s.stable_threads << " threads), fds " << s.driver_fds << ", channels "
                    << s.channels << std::endl;
        }
        continue;
      }
      if (now >= next_restart) {
        next_restart += restart_every;
        restart(next_signal_is_term ? SIGTERM : SIGKILL);
        next_signal_is_term = !next_signal_is_term;
        continue;
      }
      std::this_thread::sleep_until(
          std::min({next_sample, next_restart, traffic_end,
                    now + std::chrono::duration_cast<clock::duration>(main_tick)}));
    }
    data_.interrupted = interrupt_requested;
    if (data_.interrupted) load.stop();
    load.join();
  }
  data_.traffic_s = seconds_f(clock::now() - traffic_start).count();

  // The end state: the restarted peer running and connected, nothing in flight.
  check_restarted_alive();
  if (!restarts_.wait_reconnected(clock::now() + reconnect_limit))
    data_.restart_problems.push_back("not reconnected to the restarted peer at the end");
  data_.settle_s = settle(data_.baseline);
  data_.final = take_sample(data_.traffic_s);

  duplex::rpc::call_options final_options;
  final_options.timeout = milliseconds{settings_.call_timeout_ms};
  final_options.peer = stable_id;
  duplex::testpeer::echo_message final_request{"final", duplex::to_bytes("call")};
  auto final_call = rpc.call<duplex::testpeer::echo_message>(duplex::testpeer::rpc_echo,
                                                             final_request, final_options);
  data_.stable_final_call = final_call ? duplex::error{} : final_call.error();
  if (final_call &&
      (final_call->text != final_request.text || final_call->data != final_request.data))
    data_.stable_final_call = {duplex::errc::data_loss, "the final echo changed the text"};
  data_.stable_running = check_stable_alive();

  peer.on_event(nullptr);
  watch_.fill(data_);
  data_.calls = tally_.snapshot();
  data_.restarts = restarts_.snapshot();
  stop_stable(data_);
  if (restarted_) restarted_->stop(graceful_stop_limit);

  auto result = evaluate(data_);
  print(std::cout, data_, result);
  if (!settings_.out_dir.empty()) {
    auto path = settings_.out_dir + "/soak-report.json";
    if (auto written = write_json(path, data_, result); !written)
      std::cerr << "duplex-soak: " << written.error() << "\n";
    else
      std::cout << "report written to " << path << "\n";
  }
  return result.passed() ? 0 : 1;
}

}  // namespace
}  // namespace duplex_soak

int main(int argc, char** argv) {
  duplex_soak::settings s;
  CLI::App app{"Soak test F1: mixed traffic against a stable and a restarted duplex-testpeer"};
  app.add_option("--testpeer", s.testpeer, "Path of the duplex-testpeer program")->required();
  app.add_option("--duration", s.duration, "How long traffic runs: SECONDS, 90s, 2m, 15m, 1h")
      ->capture_default_str();
  app.add_option("--out", s.out_dir, "Directory for soak-report.json (must exist)");
  app.add_option("--threads", s.threads, "Traffic threads")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_option("--restart-every", s.restart_every_s, "Seconds between restarts")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--sample-every", s.sample_every_s, "Seconds between resource samples")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--call-timeout-ms", s.call_timeout_ms,
                 "Deadline of the calls that should succeed")
      ->capture_default_str()
      ->check(CLI::Range(100, 600000));
  app.add_option("--seed", s.seed, "Seed of the traffic's random sizes")->capture_default_str();
  app.add_option("--only", s.operations, "Run only these operations of the mix (repeatable)")
      ->check(CLI::IsMember(duplex_soak::operation_names()));
  CLI11_PARSE(app, argc, argv);

  struct sigaction action {};
  action.sa_handler = duplex_soak::on_interrupt;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);

  duplex_soak::soak run(std::move(s));
  return run.run();
}
