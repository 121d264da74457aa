#include "report.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <ostream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace duplex_soak {

namespace {

std::string fixed(double value, int digits) {
  std::ostringstream text;
  text << std::fixed << std::setprecision(digits) << value;
  return text.str();
}

std::string mib(double kib) {
  return fixed(kib / 1024.0, 1) + " MiB";
}

std::uint64_t count_of(const std::map<std::string, std::uint64_t>& counts, const std::string& key) {
  auto found = counts.find(key);
  return found == counts.end() ? 0 : found->second;
}

std::uint64_t served_by(const outcome_tally::summary& calls, target to) {
  return count_of(calls.as_intended, std::string(to_string(to)));
}

check back_to_baseline(const std::string& name, std::size_t baseline, std::size_t now) {
  return {name, now <= baseline,
          std::to_string(now) + " now, " + std::to_string(baseline) + " at baseline"};
}

void memory_checks(const std::string& who, const trend& rss, std::vector<check>& checks) {
  double limit = max_rss_growth * rss.at_1min;
  checks.push_back({who + " RSS at the end <= " + fixed(max_rss_growth, 1) + " x RSS at 1 min",
                    rss.at_1min > 0 && rss.final <= limit,
                    mib(rss.final) + " at the end, " + mib(rss.at_1min) + " at 1 min"});
  checks.push_back(
      {who + " RSS slope over the last half <= " + fixed(max_rss_slope_pct_per_min, 1) + " %/min",
       rss.slope_samples >= 2 && rss.slope_pct_per_min <= max_rss_slope_pct_per_min,
       fixed(rss.slope_pct_per_min, 3) + " %/min over " + std::to_string(rss.slope_samples) +
           " samples"});
}

}  // namespace

bool report::passed() const {
  for (const auto& c : checks)
    if (!c.passed) return false;
  return true;
}

report evaluate(const run_data& run) {
  report result;
  result.driver_rss = trend_of(
      run.samples, [](const sample& s) { return static_cast<double>(s.driver_rss_kib); },
      static_cast<double>(run.final.driver_rss_kib), run.traffic_s);
  result.stable_rss = trend_of(
      run.samples, [](const sample& s) { return static_cast<double>(s.stable_rss_kib); },
      static_cast<double>(run.final.stable_rss_kib), run.traffic_s);

  auto& checks = result.checks;
  checks.push_back({"ran the whole duration", !run.interrupted,
                    fixed(run.traffic_s, 1) + " s of " + fixed(run.planned_s, 1) + " s"});
  checks.push_back(
      {"stable server still running and answering",
       run.stable_running && run.stable_final_call.ok(),
       (run.stable_running ? std::string("running") : "NOT running (" + run.stable_exit + ")") +
           ", final call: " +
           (run.stable_final_call.ok() ? "ok" : run.stable_final_call.to_string())});
  checks.push_back(
      {"stable server stopped cleanly on SIGTERM", run.stable_stopped_cleanly, run.stable_stop});
  checks.push_back({"connection to the stable server never dropped", run.stable_disconnects == 0,
                    std::to_string(run.stable_disconnects) + " disconnects"});
  auto stable_served = served_by(run.calls, target::stable);
  auto restarted_served = served_by(run.calls, target::restarted);
  checks.push_back({"traffic reached both peers", stable_served > 0 && restarted_served > 0,
                    std::to_string(stable_served) + " calls served as meant by stable, " +
                        std::to_string(restarted_served) + " by restarted"});
  std::string unexpected = std::to_string(run.calls.unexpected) + " unexpected";
  if (!run.calls.unexpected_examples.empty())
    unexpected += ", first: " + run.calls.unexpected_examples.front();
  checks.push_back({"only expected errors (cancel, short deadline, or around a restart)",
                    run.calls.unexpected == 0, unexpected});
  std::string restart_detail = std::to_string(run.restarts.restarts) + " restarts, " +
                               std::to_string(run.restarts.reconnected) + " reconnected";
  if (!run.restart_problems.empty())
    restart_detail += ", first problem: " + run.restart_problems.front();
  checks.push_back(
      {"restarted peer stopped as asked and the driver reconnected each time",
       run.restart_problems.empty() && run.restarts.reconnected == run.restarts.restarts,
       restart_detail});
  checks.push_back(back_to_baseline("driver fds back to baseline", run.baseline.driver_fds,
                                    run.final.driver_fds));
  checks.push_back(back_to_baseline("stable server fds back to baseline", run.baseline.stable_fds,
                                    run.final.stable_fds));
  checks.push_back(back_to_baseline("driver open channels back to baseline", run.baseline.channels,
                                    run.final.channels));
  checks.push_back(back_to_baseline("driver active calls back to baseline",
                                    run.baseline.active_calls, run.final.active_calls));
  if (run.planned_s >= long_run_s) {
    memory_checks("driver", result.driver_rss, checks);
    memory_checks("stable server", result.stable_rss, checks);
  }
  return result;
}

void print(std::ostream& out, const run_data& run, const report& result) {
  out << "\n=== soak report ===\n";
  out << "duration: " << fixed(run.traffic_s, 1) << " s of traffic (planned "
      << fixed(run.planned_s, 1) << " s, " << run.threads << " threads)"
      << (run.interrupted ? ", INTERRUPTED" : "") << "\n";
  out << "calls: " << run.calls.calls << "\n";
  for (const auto& [outcome, count] : run.calls.by_outcome)
    out << "  " << std::left << std::setw(20) << outcome << count << "\n";
  out << "expected errors by cause:\n";
  for (const auto& [cause, count] : run.calls.explained)
    out << "  " << std::left << std::setw(24) << cause << count << "\n";
  out << "unexpected outcomes: " << run.calls.unexpected
      << (run.calls.unexpected_examples.empty() ? "" : " (t: seconds since the driver started)")
      << "\n";
  for (const auto& example : run.calls.unexpected_examples) out << "  " << example << "\n";
  out << "by operation:\n";
  for (const auto& [operation, outcomes] : run.calls.by_operation) {
    out << "  " << std::left << std::setw(28) << operation;
    for (const auto& [outcome, count] : outcomes) out << " " << outcome << "=" << count;
    out << "\n";
  }
  out << "restarts: " << run.restarts.restarts << " (" << run.sigterm_restarts << " SIGTERM, "
      << run.sigkill_restarts << " SIGKILL), reconnected " << run.restarts.reconnected
      << ", slowest reconnect "
      << fixed(std::chrono::duration<double>(run.restarts.max_reconnect_delay).count(), 2)
      << " s after the signal, bind retries " << run.bind_retries << "\n";
  for (const auto& problem : run.restart_problems) out << "  problem: " << problem << "\n";
  out << "stable server: " << run.stable_disconnects << " disconnects\n";
  out << "connections rejected or ended by BYE: " << run.rejected_connections << "\n";
  for (const auto& [kind, count] : run.rejections) out << "  " << count << " x " << kind << "\n";
  out << "RSS          at 1 min      at the end    slope (last half)\n";
  auto rss_row = [&](const char* who, const trend& t) {
    out << "  " << std::left << std::setw(11) << who << std::setw(14) << mib(t.at_1min)
        << std::setw(14) << mib(t.final) << fixed(t.slope_pct_per_min, 3) << " %/min ("
        << t.slope_samples << " samples)\n";
  };
  rss_row("driver", result.driver_rss);
  rss_row("stable", result.stable_rss);
  out << "now vs baseline (after " << fixed(run.settle_s, 1) << " s settling):\n";
  out << "  driver fds        " << run.final.driver_fds << " vs " << run.baseline.driver_fds
      << "\n";
  out << "  stable fds        " << run.final.stable_fds << " vs " << run.baseline.stable_fds
      << "\n";
  out << "  open channels     " << run.final.channels << " vs " << run.baseline.channels << "\n";
  out << "  active calls      " << run.final.active_calls << " vs " << run.baseline.active_calls
      << "\n";
  out << "  driver threads    " << run.final.driver_threads << " vs " << run.baseline.driver_threads
      << " (not checked)\n";
  out << "  stable threads    " << run.final.stable_threads << " vs " << run.baseline.stable_threads
      << " (not checked)\n";
  out << "checks:\n";
  for (const auto& c : result.checks)
    out << "  " << (c.passed ? "PASS " : "FAIL ") << c.name << ": " << c.detail << "\n";
  out << (result.passed() ? "SOAK PASSED" : "SOAK FAILED") << "\n";
}

duplex::result<void> write_json(const std::string& path, const run_data& run,
                                const report& result) {
  using nlohmann::json;
  auto sample_json = [](const sample& s) {
    return json{{"at_s", s.at_s},
                {"driver_rss_kib", s.driver_rss_kib},
                {"stable_rss_kib", s.stable_rss_kib},
                {"driver_fds", s.driver_fds},
                {"stable_fds", s.stable_fds},
                {"driver_threads", s.driver_threads},
                {"stable_threads", s.stable_threads},
                {"channels", s.channels},
                {"active_calls", s.active_calls},
                {"calls", s.calls}};
  };
  auto trend_json = [](const trend& t) {
    return json{{"at_1min_kib", t.at_1min},
                {"final_kib", t.final},
                {"slope_pct_per_min", t.slope_pct_per_min},
                {"slope_samples", t.slope_samples}};
  };
  json doc;
  doc["passed"] = result.passed();
  doc["planned_s"] = run.planned_s;
  doc["traffic_s"] = run.traffic_s;
  doc["interrupted"] = run.interrupted;
  doc["threads"] = run.threads;
  doc["calls"] = {{"total", run.calls.calls},
                  {"by_outcome", run.calls.by_outcome},
                  {"by_operation", run.calls.by_operation},
                  {"explained", run.calls.explained},
                  {"unexpected", run.calls.unexpected},
                  {"unexpected_examples", run.calls.unexpected_examples}};
  doc["restarts"] = {{"total", run.restarts.restarts},
                     {"sigterm", run.sigterm_restarts},
                     {"sigkill", run.sigkill_restarts},
                     {"reconnected", run.restarts.reconnected},
                     {"max_reconnect_delay_s",
                      std::chrono::duration<double>(run.restarts.max_reconnect_delay).count()},
                     {"bind_retries", run.bind_retries},
                     {"problems", run.restart_problems}};
  doc["stable"] = {
      {"disconnects", run.stable_disconnects},
      {"running_at_end", run.stable_running},
      {"exit", run.stable_exit},
      {"final_call", run.stable_final_call.ok() ? "ok" : run.stable_final_call.to_string()},
      {"stop", run.stable_stop}};
  doc["rejected_connections"] = {{"count", run.rejected_connections}, {"by_kind", run.rejections}};
  doc["rss"] = {{"driver", trend_json(result.driver_rss)},
                {"stable", trend_json(result.stable_rss)}};
  doc["baseline"] = sample_json(run.baseline);
  doc["final"] = sample_json(run.final);
  doc["settle_s"] = run.settle_s;
  doc["samples"] = json::array();
  for (const auto& s : run.samples) doc["samples"].push_back(sample_json(s));
  doc["checks"] = json::array();
  for (const auto& c : result.checks)
    doc["checks"].push_back({{"name", c.name}, {"passed", c.passed}, {"detail", c.detail}});

  std::ofstream file(path);
  file << doc.dump(2) << "\n";
  file.close();
  if (!file)
    return duplex::error{duplex::errc::unknown,
                         "cannot write " + path + ": " + std::strerror(errno)};
  return {};
}

}  // namespace duplex_soak
