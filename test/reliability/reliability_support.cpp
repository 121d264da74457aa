#include "reliability/reliability_support.hpp"

#include "harness/testpeer_protocol.hpp"

namespace duplex::testing {

namespace {

// A worker's rhythm: about 500 messages a second per channel.
constexpr auto pace = 2ms;
// Longer than any detection the tests wait for, so that a read that times out is a failure
// of its own and never hides the one the test expects.
constexpr std::chrono::milliseconds step_limit = 15s;
constexpr std::chrono::milliseconds end_limit = 5s;
constexpr std::size_t message_size = 64;
constexpr const char* endless = "1000000000000";  // source messages: more than any test reads

const char* kind_name(peer_event::kind what) {
  switch (what) {
    case peer_event::kind::connected:
      return "connected";
    case peer_event::kind::disconnected:
      return "disconnected";
    case peer_event::kind::rejected:
      return "rejected";
  }
  return "?";
}

}  // namespace

peer_options reliability_options(std::string id) {
  peer_options options;
  options.peer_id = std::move(id);
  options.heartbeat_interval = heartbeat_interval;
  options.heartbeat_timeout = heartbeat_timeout;
  options.reconnect_interval = reconnect_interval;
  options.reconnect_interval_max = reconnect_interval_max;
  return options;
}

std::int64_t ms_between(clock::time_point from, clock::time_point to) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

// ---- timed_events ----

timed_events::timed_events(peer& p) : peer_(p) {
  p.on_event([this](const peer_event& e) {
    std::lock_guard<std::mutex> lock(mutex_);
    events_.push_back({e, clock::now()});
    changed_.notify_all();
  });
}

timed_events::~timed_events() {
  peer_.on_event(nullptr);
}

std::optional<timed_event> timed_events::wait_for(peer_event::kind what, const std::string& remote,
                                                  std::chrono::milliseconds limit,
                                                  std::size_t nth) {
  std::unique_lock<std::mutex> lock(mutex_);
  std::optional<timed_event> found;
  auto look = [&] {
    std::size_t seen = 0;
    for (const auto& e : events_) {
      if (e.event.what != what || e.event.remote_peer_id != remote) continue;
      if (++seen == nth) {
        found = e;
        return true;
      }
    }
    return false;
  };
  changed_.wait_for(lock, limit, look);
  return found;
}

std::size_t timed_events::count(peer_event::kind what, const std::string& remote) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::size_t seen = 0;
  for (const auto& e : events_)
    if (e.event.what == what && e.event.remote_peer_id == remote) ++seen;
  return seen;
}

std::string timed_events::describe() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string text;
  for (const auto& e : events_) {
    if (!text.empty()) text += ", ";
    text += std::string(kind_name(e.event.what)) + " " + e.event.remote_peer_id;
    if (!e.event.reason.ok()) text += " (" + e.event.reason.to_string() + ")";
  }
  return text.empty() ? "no events" : text;
}

// ---- stream_worker ----

const char* to_string(stream_kind kind) {
  switch (kind) {
    case stream_kind::echo:
      return "echo";
    case stream_kind::source:
      return "source";
    case stream_kind::sink:
      return "sink";
  }
  return "?";
}

stream_worker::stream_worker(peer& client, std::string remote, stream_kind kind)
    : remote_(std::move(remote)), kind_(kind) {
  metadata headers;
  if (kind == stream_kind::source)
    headers = {{testpeer::count_key, endless}, {testpeer::size_key, std::to_string(message_size)}};
  channel_ = client.open_to(remote_, to_string(kind), std::move(headers));
  channel_.on_finish([state = finished_](const error& reason) {
    if (reason.ok()) return;
    std::lock_guard<std::mutex> lock(state->mutex);
    state->channel_failure = failure{reason, clock::now()};
    state->changed.notify_all();
  });
  thread_ = std::thread([this] { run(); });
}

stream_worker::~stream_worker() {
  if (!thread_.joinable()) return;
  stop_ = true;
  channel_.cancel();  // wakes a blocked read
  thread_.join();
}

std::string stream_worker::name() const {
  return std::string(to_string(kind_)) + " to " + remote_;
}

bool stream_worker::wait_progress(std::uint64_t count, std::chrono::milliseconds limit) {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait_for(lock, limit, [&] { return progress_ >= count || done_; });
  return progress_ >= count;
}

std::optional<stream_worker::failure> stream_worker::wait_channel_failed(
    std::chrono::milliseconds limit) {
  std::unique_lock<std::mutex> lock(finished_->mutex);
  finished_->changed.wait_for(lock, limit, [&] { return finished_->channel_failure.has_value(); });
  return finished_->channel_failure;
}

std::optional<stream_worker::failure> stream_worker::wait_stream_failed(
    std::chrono::milliseconds limit) {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait_for(lock, limit, [&] { return stream_failure_.has_value() || done_; });
  return stream_failure_;
}

std::string stream_worker::problem() {
  std::lock_guard<std::mutex> lock(mutex_);
  return problem_;
}

std::string stream_worker::finish() {
  if (thread_.joinable()) {
    stop_ = true;
    thread_.join();
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (!problem_.empty()) return name() + ": " + problem_;
  if (stream_failure_) return name() + " failed: " + stream_failure_->reason.to_string();
  return {};
}

void stream_worker::set_stream_failure(error reason) {
  std::lock_guard<std::mutex> lock(mutex_);
  stream_failure_ = failure{std::move(reason), clock::now()};
  changed_.notify_all();
}

void stream_worker::run() {
  while (!stop_ && step()) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++progress_;
      changed_.notify_all();
    }
    // Once the channel failed, what it still holds is read without pause.
    if (!wait_channel_failed(0ms)) std::this_thread::sleep_for(pace);
  }
  std::string verdict;
  if (stop_ && !stream_failure_ && problem_.empty()) verdict = end_in_order();
  std::lock_guard<std::mutex> lock(mutex_);
  if (problem_.empty()) problem_ = verdict;
  done_ = true;
  changed_.notify_all();
}

// One message; false when the stream is over (a failure or a problem was recorded).
bool stream_worker::step() {
  const std::uint64_t index = progress_;
  auto problem = [&](std::string what) {
    std::lock_guard<std::mutex> lock(mutex_);
    problem_ = "message " + std::to_string(index) + ": " + what;
    return false;
  };
  auto check = [&](read_result next) {
    if (next.is_error()) {
      set_stream_failure(next.error());
      return false;
    }
    if (next.is_end()) return problem("the stream ended");
    auto got = testpeer::get_index(*next);
    if (!got) return problem("too short for an index");
    if (*got != index) return problem("got index " + std::to_string(*got));
    return true;
  };
  if (kind_ == stream_kind::source) return check(channel_.read(step_limit));
  bytes message(message_size);
  testpeer::put_index(message, index);
  if (auto written = channel_.write(message, step_limit); !written) {
    set_stream_failure(written.error());
    return false;
  }
  bytes_written_ += message_size;
  if (kind_ == stream_kind::sink) return true;
  return check(channel_.read(step_limit));
}

std::string stream_worker::end_in_order() {
  if (kind_ == stream_kind::source) {
    channel_.close();  // its handler stops writing
    return {};
  }
  if (auto closed = channel_.close_write(); !closed)
    return "close_write: " + closed.error().to_string();
  auto last = channel_.read(end_limit);
  if (last.is_message()) return "a message after the last reply";
  if (last.is_error()) return "no clean end: " + last.error().to_string();
  if (kind_ == stream_kind::echo) return {};
  auto trailers = channel_.meta().trailers;
  auto expect = [&](const char* key, std::uint64_t value) -> std::string {
    auto it = trailers.find(key);
    if (it == trailers.end()) return std::string("no trailer ") + key;
    if (it->second != std::to_string(value))
      return std::string("trailer ") + key + " is " + it->second + ", " + std::to_string(value) +
             " were written";
    return {};
  };
  auto count = expect(testpeer::count_key, progress_);
  return count.empty() ? expect(testpeer::bytes_key, bytes_written_) : count;
}

}  // namespace duplex::testing
