#include "outcomes.hpp"

#include <algorithm>
#include <sstream>

namespace duplex_soak {

namespace {

constexpr std::size_t max_unexpected_examples = 20;
const std::string around_restart = "around a restart";

std::string_view to_string(intent why) {
  switch (why) {
    case intent::plain:
      return "plain";
    case intent::cancel:
      return "cancel";
    case intent::short_deadline:
      return "short deadline";
  }
  return "?";
}

}  // namespace

std::string_view to_string(target t) noexcept {
  return t == target::stable ? "stable" : "restarted";
}

void restart_log::signalled(clock::time_point at) {
  std::lock_guard<std::mutex> lock(mutex_);
  windows_.push_back({at, std::nullopt});
}

void restart_log::reconnected(clock::time_point at) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (windows_.empty() || windows_.back().reconnected) return;  // the first connection
  if (at < windows_.back().signalled) return;
  windows_.back().reconnected = at;
  changed_.notify_all();
}

bool restart_log::overlaps(clock::time_point start, clock::time_point end) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return std::any_of(windows_.begin(), windows_.end(), [&](const window& w) {
    if (end < w.signalled) return false;
    return !w.reconnected || start <= *w.reconnected + grace_;
  });
}

bool restart_log::wait_reconnected(clock::time_point until) const {
  std::unique_lock<std::mutex> lock(mutex_);
  return changed_.wait_until(
      lock, until, [&] { return windows_.empty() || windows_.back().reconnected.has_value(); });
}

restart_log::totals restart_log::snapshot() const {
  std::lock_guard<std::mutex> lock(mutex_);
  totals t;
  t.restarts = windows_.size();
  for (const auto& w : windows_) {
    if (!w.reconnected) continue;
    ++t.reconnected;
    t.max_reconnect_delay = std::max(t.max_reconnect_delay, *w.reconnected - w.signalled);
  }
  return t;
}

std::optional<std::string> outcome_tally::explain(const call_record& call) const {
  if (!call.anomaly.empty()) return std::nullopt;
  auto code = call.status.code;
  if (code == duplex::errc::cancelled && call.why == intent::cancel) return "cancelled by the soak";
  if (code == duplex::errc::deadline_exceeded && call.why == intent::short_deadline)
    return "short deadline";
  bool restart_error = code == duplex::errc::unavailable || code == duplex::errc::cancelled ||
                       code == duplex::errc::deadline_exceeded;
  if (restart_error && call.to == target::restarted && restarts_.overlaps(call.started, call.ended))
    return around_restart;
  return std::nullopt;
}

void outcome_tally::record(const call_record& call) {
  std::string outcome =
      !call.anomaly.empty() ? call.anomaly : std::string(duplex::to_string(call.status.code));
  std::optional<std::string> reason;
  bool failed = !call.anomaly.empty() || !call.status.ok();
  if (failed) reason = explain(call);

  std::lock_guard<std::mutex> lock(mutex_);
  ++summary_.calls;
  ++summary_.by_outcome[outcome];
  ++summary_.by_operation[std::string(to_string(call.to)) + "/" + call.operation][outcome];
  if (!failed || (reason && call.why != intent::plain && *reason != around_restart))
    ++summary_.as_intended[std::string(to_string(call.to))];
  if (!failed) return;
  if (reason) {
    ++summary_.explained[*reason];
    return;
  }
  ++summary_.unexpected;
  if (summary_.unexpected_examples.size() >= max_unexpected_examples) return;
  using seconds = std::chrono::duration<double>;
  std::ostringstream text;
  text.precision(3);
  text << std::fixed << "t=" << seconds(call.started - origin_).count() << "s.."
       << seconds(call.ended - origin_).count() << "s " << to_string(call.to) << "/"
       << call.operation << " (" << to_string(call.why) << "): "
       << (call.anomaly.empty() ? call.status.to_string() : call.anomaly + ": " + call.detail);
  summary_.unexpected_examples.push_back(text.str());
}

outcome_tally::summary outcome_tally::snapshot() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return summary_;
}

}  // namespace duplex_soak
