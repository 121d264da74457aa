// What the reliability suites share: the settings of reference section B, peer events with
// the time they happened, and channels kept streaming by a thread of their own while peers are
// killed, hung and restarted around them.
#pragma once

#include <duplex/duplex.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace duplex::testing {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

// The test settings of reference section B, also duplex-testpeer's defaults: heartbeats every
// second, a silent connection fails after three; reconnects start at 100 ms and back off to 1 s.
inline constexpr std::chrono::milliseconds heartbeat_interval = 1s;
inline constexpr std::chrono::milliseconds heartbeat_timeout = 3s;
inline constexpr std::chrono::milliseconds reconnect_interval = 100ms;
inline constexpr std::chrono::milliseconds reconnect_interval_max = 1s;

// A peer in the test process with those settings.
peer_options reliability_options(std::string id);

// Milliseconds from `from` to `to`, for messages.
std::int64_t ms_between(clock::time_point from, clock::time_point to);

struct timed_event {
  peer_event event;
  clock::time_point at;
};

// Every event of a peer, with the time it was seen.
class timed_events {
 public:
  explicit timed_events(peer& p);
  ~timed_events();
  timed_events(const timed_events&) = delete;
  timed_events& operator=(const timed_events&) = delete;

  // The `nth` (from 1) event of kind `what` about `remote`, waiting up to `limit` for it.
  std::optional<timed_event> wait_for(peer_event::kind what, const std::string& remote,
                                      std::chrono::milliseconds limit, std::size_t nth = 1);
  std::size_t count(peer_event::kind what, const std::string& remote) const;
  // "connected a, disconnected a (unavailable: ...)", for messages.
  std::string describe() const;

 private:
  peer& peer_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<timed_event> events_;
};

// Which testpeer channel service a stream_worker keeps busy.
enum class stream_kind {
  echo,    // writes message n, reads it back, checks it is n
  source,  // reads messages 0, 1, 2 ... and checks each index
  sink,    // writes messages; at the end the trailers must count all of them
};

const char* to_string(stream_kind kind);

// One channel to one remote peer, streaming on a thread of its own (paced: these tests are
// about loss, not speed, and three processes share two cores) until finish() or a failure.
// Every message is checked: an index out of order ends the stream as a problem.
class stream_worker {
 public:
  struct failure {
    error reason;
    clock::time_point at;  // when it was seen
  };

  stream_worker(peer& client, std::string remote, stream_kind kind);
  ~stream_worker();  // cancels the channel if still streaming and joins the thread
  stream_worker(const stream_worker&) = delete;
  stream_worker& operator=(const stream_worker&) = delete;

  const std::string& remote() const { return remote_; }
  stream_kind kind() const { return kind_; }
  // Messages checked (echo, source) or written (sink) so far.
  std::uint64_t progress() const { return progress_; }
  // Waits until progress() reaches `count`; false when the limit passed or the stream ended.
  bool wait_progress(std::uint64_t count, std::chrono::milliseconds limit);

  // Waits up to `limit` for the channel itself to fail (channel::on_finish with an error);
  // std::nullopt while it is still open.
  std::optional<failure> wait_channel_failed(std::chrono::milliseconds limit);
  // Waits up to `limit` for the stream to stop on an error from read() or write(); for a
  // source that is after every message that arrived before the failure (they stay readable).
  std::optional<failure> wait_stream_failed(std::chrono::milliseconds limit);

  // A message lost, duplicated or out of order (the stream stopped there); empty if none.
  std::string problem();

  // Stops streaming and ends the channel in order (echo and sink: half-close, then the
  // remote's clean end; sink: its trailers must count every message and byte). Returns what
  // went wrong, empty when nothing did; after a failure, the failure.
  std::string finish();
  // "echo to survivor", for messages.
  std::string name() const;

 private:
  // What the channel's on_finish callback shares with the worker; the callback may run after
  // the worker is gone, so it holds this, not the worker.
  struct finish_state {
    std::mutex mutex;
    std::condition_variable changed;
    std::optional<failure> channel_failure;
  };

  void run();
  bool step();
  std::string end_in_order();
  void set_stream_failure(error reason);

  std::string remote_;
  stream_kind kind_;
  std::shared_ptr<finish_state> finished_ = std::make_shared<finish_state>();
  channel channel_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> progress_{0};
  std::uint64_t bytes_written_ = 0;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::optional<failure> stream_failure_;
  std::string problem_;  // a message lost, duplicated or out of order
  bool done_ = false;
  std::thread thread_;
};

}  // namespace duplex::testing
