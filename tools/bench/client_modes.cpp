#include "client_modes.hpp"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include "bench_protocol.hpp"
#include "latency.hpp"

namespace duplex_bench {

namespace {

using std::chrono::milliseconds;

constexpr int warm_up_calls = 1000;
// The first call waits for the connection; a server that is not there fails it after this.
constexpr milliseconds connect_limit{10'000};
// A stream or a call that delivers nothing for this long is broken (the run is over).
constexpr milliseconds stall_limit{30'000};

std::string describe(const duplex::error& e) {
  return e.to_string();
}

void check_size(const duplex::bytes& reply, std::size_t expected, const char* what) {
  if (reply.size() != expected)
    throw bench_failure(std::string(what) + " has " + std::to_string(reply.size()) +
                        " bytes, expected " + std::to_string(expected));
}

std::int64_t deadline_ns(const settings& config) {
  return now_ns() + static_cast<std::int64_t>(config.max_secs * 1e9);
}

// Completed asynchronous calls, handed from Duplex threads to the issuing thread. Shared with
// the callbacks, which may outlive a run that failed.
class completion_queue {
 public:
  struct completion {
    std::int64_t issued_ns;
    std::int64_t done_ns;
    duplex::result<duplex::bytes> reply;
  };

  void push(completion c) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_.push_back(std::move(c));
    }
    ready_.notify_one();
  }
  // Everything completed so far, waiting up to `limit` for the first; empty on timeout.
  std::deque<completion> take_all(milliseconds limit) {
    std::unique_lock<std::mutex> lock(mutex_);
    ready_.wait_for(lock, limit, [this] { return !done_.empty(); });
    std::deque<completion> taken;
    taken.swap(done_);
    return taken;
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<completion> done_;
};

}  // namespace

void warm_up(client_context& c) {
  duplex::rpc::call_options first;
  first.timeout = connect_limit;
  auto reply = c.rpc.call<duplex::bytes>(rpc_echo, c.payload, first);
  if (!reply)
    throw bench_failure("no answer from " + c.config.resolved_endpoint() + " within " +
                        std::to_string(connect_limit.count()) + " ms: " + describe(reply.error()));
  for (int i = 1; i < warm_up_calls; ++i) {
    reply = c.rpc.call<duplex::bytes>(rpc_echo, c.payload);
    if (!reply) throw bench_failure("warm-up call: " + describe(reply.error()));
    check_size(*reply, c.config.size, "a warm-up reply");
  }
}

void run_unary_seq(client_context& c) {
  latency_recorder latencies;
  latencies.reserve(static_cast<std::size_t>(c.config.n));
  const auto deadline = deadline_ns(c.config);
  long done = 0;
  const auto t0 = now_ns();
  while (done < c.config.n) {
    auto start = now_ns();
    auto reply = c.rpc.call<duplex::bytes>(rpc_echo, c.payload);
    auto end = now_ns();
    if (!reply)
      throw bench_failure("call " + std::to_string(done) + ": " + describe(reply.error()));
    check_size(*reply, c.config.size, "a reply");
    latencies.add(end - start);
    ++done;
    if (end > deadline) break;
  }
  print_result(c.config, done, static_cast<double>(now_ns() - t0) / 1e9, &latencies);
}

void run_unary_inflight(client_context& c) {
  auto completions = std::make_shared<completion_queue>();
  latency_recorder latencies;
  latencies.reserve(static_cast<std::size_t>(c.config.n));
  const auto deadline = deadline_ns(c.config);
  long issued = 0;
  long done = 0;
  bool stop = false;
  duplex::rpc::call_options options;
  options.nonblocking_completion = true;  // the callback only queues the completion
  auto issue = [&] {
    const auto issued_ns = now_ns();
    c.rpc.call_async<duplex::bytes>(rpc_echo, c.payload, options,
                                    [completions, issued_ns](duplex::result<duplex::bytes> reply) {
                                      completions->push({issued_ns, now_ns(), std::move(reply)});
                                    });
    ++issued;
  };
  const auto t0 = now_ns();
  for (int i = 0; i < c.config.inflight && issued < c.config.n; ++i) issue();
  while (done < issued) {
    auto batch = completions->take_all(stall_limit);
    if (batch.empty())
      throw bench_failure(std::to_string(issued - done) + " calls unanswered for " +
                          std::to_string(stall_limit.count()) + " ms");
    for (auto& completion : batch) {
      if (!completion.reply)
        throw bench_failure("call " + std::to_string(done) + ": " +
                            describe(completion.reply.error()));
      check_size(*completion.reply, c.config.size, "a reply");
      latencies.add(completion.done_ns - completion.issued_ns);
      ++done;
      if (completion.done_ns > deadline) stop = true;
    }
    // One new call per completed one keeps config.inflight outstanding.
    for (std::size_t i = 0; i < batch.size() && !stop && issued < c.config.n; ++i) issue();
  }
  print_result(c.config, done, static_cast<double>(now_ns() - t0) / 1e9, &latencies);
}

void run_server_stream(client_context& c) {
  const auto expected = static_cast<std::uint64_t>(c.config.n);
  std::uint64_t checksum = 0;  // touches every message; must be n * stream_fill
  long got = 0;
  const auto t0 = now_ns();
  auto call =
      c.rpc.server_stream<duplex::bytes>(rpc_stream, stream_request{expected, c.config.size});
  while (true) {
    auto next = call.read(stall_limit);
    if (!next)
      throw bench_failure("after " + std::to_string(got) + " messages: " + describe(next.error()));
    if (!*next) break;
    const duplex::bytes& message = **next;
    check_size(message, c.config.size, "a streamed message");
    if (!message.empty()) checksum += message.front();
    if (++got > c.config.n) throw bench_failure("the stream sent more than --n messages");
  }
  const auto secs = static_cast<double>(now_ns() - t0) / 1e9;
  if (got != c.config.n)
    throw bench_failure("the stream ended after " + std::to_string(got) + " of " +
                        std::to_string(c.config.n) + " messages");
  if (c.config.size > 0 && checksum != expected * stream_fill)
    throw bench_failure("the streamed messages do not hold what the server wrote");
  print_result(c.config, got, secs, nullptr);
}

void run_pingpong(client_context& c) {
  auto call = c.rpc.bidi<duplex::bytes, duplex::bytes>(rpc_pingpong);
  latency_recorder latencies;
  latencies.reserve(static_cast<std::size_t>(c.config.n));
  const auto deadline = deadline_ns(c.config);
  long done = 0;
  const auto t0 = now_ns();
  while (done < c.config.n) {
    auto start = now_ns();
    if (auto sent = call.write(c.payload); !sent)
      throw bench_failure("round trip " + std::to_string(done) + ": " + describe(sent.error()));
    auto echoed = call.read(stall_limit);
    auto end = now_ns();
    if (!echoed)
      throw bench_failure("round trip " + std::to_string(done) + ": " + describe(echoed.error()));
    if (!*echoed) throw bench_failure("the ping-pong call ended early");
    check_size(**echoed, c.config.size, "an echoed message");
    latencies.add(end - start);
    ++done;
    if (end > deadline) break;
  }
  const auto secs = static_cast<double>(now_ns() - t0) / 1e9;
  if (auto closed = call.close_write(); !closed)
    throw bench_failure("close_write: " + describe(closed.error()));
  auto status = call.read(stall_limit);
  if (!status) throw bench_failure("the ping-pong call ended with " + describe(status.error()));
  if (*status) throw bench_failure("the ping-pong call sent more than it got");
  print_result(c.config, done, secs, &latencies);
}

}  // namespace duplex_bench
