#include "traffic.hpp"

#include <algorithm>
#include <exception>
#include <functional>
#include <future>
#include <random>

#include "harness/testpeer_protocol.hpp"

namespace duplex_soak {

namespace {

namespace proto = duplex::testpeer;

using std::chrono::milliseconds;

// A hung call is one that outlives its own deadline by this much.
constexpr milliseconds hang_margin{5000};
// Sizes of the mix: small enough that a worker does many operations a second on two cores.
constexpr std::size_t stream_count = 32;
constexpr std::size_t stream_size = 256;
constexpr std::size_t max_echo_bytes = 2048;
constexpr std::size_t max_echo_text = 64;
constexpr std::size_t ping_pong_rounds = 8;
// A server stream long enough that the soak always cancels it before its end.
constexpr std::size_t endless_count = 1'000'000;
constexpr std::size_t items_before_cancel = 3;
// Short deadlines and sleeps, drawn so that roughly half of the sleeps expire.
constexpr int min_short_ms = 20;
constexpr int max_short_ms = 200;
// A peer that is down fails calls at once; a worker pauses this long after such a failure
// instead of spinning through thousands of them while the peer restarts.
constexpr milliseconds unavailable_pause{20};

class mix {
 public:
  mix(const traffic_context& context, const traffic_options& options, std::uint64_t seed)
      : context_(context), options_(options), random_(seed) {}

  using operation = call_record (mix::*)(target);
  struct entry {
    const char* name;
    operation run;
    intent why;
  };
  static const std::vector<entry>& operations() {
    static const std::vector<entry> all = {
        {"unary_echo", &mix::unary_echo, intent::plain},
        {"server_stream", &mix::server_stream, intent::plain},
        {"client_stream", &mix::client_stream, intent::plain},
        {"echo_channel", &mix::echo_channel, intent::plain},
        {"cancel_stream", &mix::cancel_stream, intent::cancel},
        {"short_deadline", &mix::short_deadline, intent::short_deadline},
        {"async_echo", &mix::async_echo, intent::plain},
        {"sink_channel", &mix::sink_channel, intent::plain},
        {"source_channel", &mix::source_channel, intent::plain},
        {"cancel_sleep", &mix::cancel_sleep, intent::cancel},
    };
    return all;
  }

  // Runs `op` and counts it; returns its status.
  duplex::errc run(const entry& op, target to) {
    call_record record;
    auto started = clock::now();
    try {
      record = (this->*op.run)(to);
    } catch (const std::exception& e) {
      record.anomaly = "exception";
      record.detail = e.what();
    }
    record.to = to;
    record.operation = op.name;
    record.why = op.why;
    record.started = started;
    record.ended = clock::now();
    context_.tally.record(record);
    return record.status.code;
  }

 private:
  const std::string& peer_id(target to) const {
    return to == target::stable ? context_.stable_id : context_.restarted_id;
  }

  duplex::rpc::call_options call_options(target to, milliseconds timeout) const {
    duplex::rpc::call_options options;
    options.timeout = timeout;
    options.peer = peer_id(to);
    return options;
  }

  std::string random_text(std::size_t max_bytes) {
    std::uniform_int_distribution<std::size_t> length(0, max_bytes);
    std::uniform_int_distribution<int> letter('a', 'z');
    std::string text(length(random_), ' ');
    for (auto& c : text) c = static_cast<char>(letter(random_));
    return text;
  }
  duplex::bytes random_bytes(std::size_t min_bytes, std::size_t max_bytes) {
    std::uniform_int_distribution<std::size_t> length(min_bytes, max_bytes);
    std::uniform_int_distribution<int> octet(0, 255);
    duplex::bytes data(length(random_));
    for (auto& b : data) b = static_cast<std::uint8_t>(octet(random_));
    return data;
  }
  proto::echo_message random_echo() {
    return {random_text(max_echo_text), random_bytes(0, max_echo_bytes)};
  }
  static bool same(const proto::echo_message& a, const proto::echo_message& b) {
    return a.text == b.text && a.data == b.data;
  }

  // What is left of `bound` since `started`, at least 1 ms (0 would mean "don't wait").
  static milliseconds remaining(clock::time_point started, milliseconds bound) {
    auto left = std::chrono::duration_cast<milliseconds>(started + bound - clock::now());
    return std::max(left, milliseconds{1});
  }

  static call_record failed(duplex::error status) {
    call_record r;
    r.status = std::move(status);
    return r;
  }
  static call_record anomaly(std::string kind, std::string detail) {
    call_record r;
    r.anomaly = std::move(kind);
    r.detail = std::move(detail);
    return r;
  }
  // A read or write error of an operation bounded by `bound` since `started`: past the bound
  // plus the margin it is a hang, else the error itself.
  static call_record failed_within(duplex::error status, clock::time_point started,
                                   milliseconds bound) {
    if (clock::now() >= started + bound + hang_margin)
      return anomaly("hung", "still waiting past its deadline: " + status.to_string());
    return failed(std::move(status));
  }

  call_record unary_echo(target to) {
    auto request = random_echo();
    auto reply = context_.rpc.call<proto::echo_message>(proto::rpc_echo, request,
                                                        call_options(to, options_.call_timeout));
    if (!reply) return failed(reply.error());
    if (!same(*reply, request)) return anomaly("data_mismatch", "echo changed the message");
    return {};
  }

  call_record async_echo(target to) {
    auto request = random_echo();
    auto future = context_.rpc.call_async<proto::echo_message>(
        proto::rpc_echo, request, call_options(to, options_.call_timeout));
    if (future.wait_for(options_.call_timeout + hang_margin) != std::future_status::ready)
      return anomaly("hung", "call_async never completed");
    auto reply = future.get();
    if (!reply) return failed(reply.error());
    if (!same(*reply, request)) return anomaly("data_mismatch", "echo changed the message");
    return {};
  }

  call_record server_stream(target to) {
    auto started = clock::now();
    auto call = context_.rpc.server_stream<proto::stream_item>(
        proto::rpc_stream, proto::stream_request{stream_count, stream_size},
        call_options(to, options_.call_timeout));
    for (std::size_t i = 0;; ++i) {
      auto item = call.read(remaining(started, options_.call_timeout + hang_margin));
      if (!item) return failed_within(item.error(), started, options_.call_timeout);
      if (!*item) {
        if (i != stream_count)
          return anomaly("data_mismatch", "stream ended after " + std::to_string(i) + " of " +
                                              std::to_string(stream_count) + " items");
        return {};
      }
      if (i >= stream_count) return anomaly("data_mismatch", "stream sent too many items");
      if ((*item)->data.size() != stream_size || (*item)->index != i)
        return anomaly("data_mismatch",
                       "item " + std::to_string(i) + " has the wrong index or size");
    }
  }

  call_record client_stream(target to) {
    auto call = context_.rpc.client_stream<proto::stream_item, proto::collect_reply>(
        proto::rpc_collect, call_options(to, options_.call_timeout));
    std::uint64_t bytes = 0;
    for (std::size_t i = 0; i < stream_count; ++i) {
      proto::stream_item item{i, random_bytes(0, stream_size)};
      bytes += item.data.size();
      if (auto sent = call.write(item); !sent) {
        // The request could not go out: the call's status says why.
        auto status = call.finish();
        return failed(status ? sent.error() : status.error());
      }
    }
    auto reply = call.finish();
    if (!reply) return failed(reply.error());
    if (reply->count != stream_count || reply->total_bytes != bytes)
      return anomaly("data_mismatch", "collect counted " + std::to_string(reply->count) +
                                          " items, " + std::to_string(reply->total_bytes) +
                                          " bytes");
    return {};
  }

  call_record echo_channel(target to) {
    auto started = clock::now();
    auto bound = options_.call_timeout;
    auto ch = context_.peer.open_to(peer_id(to), proto::echo_service);
    for (std::size_t round = 0; round < ping_pong_rounds; ++round) {
      auto message = random_bytes(0, max_echo_bytes);
      if (auto sent = ch.write(message, remaining(started, bound)); !sent)
        return failed(sent.error());
      auto echoed = ch.read(remaining(started, bound));
      if (echoed.is_error()) return failed(echoed.error());
      if (echoed.is_end()) return anomaly("data_mismatch", "echo ended early");
      if (*echoed != message)
        return anomaly("data_mismatch", "echo changed round " + std::to_string(round));
    }
    if (auto closed = ch.close_write(); !closed) return failed(closed.error());
    auto last = ch.read(remaining(started, bound));
    if (last.is_error()) return failed(last.error());
    if (!last.is_end()) return anomaly("data_mismatch", "echo sent more than it got");
    return {};
  }

  call_record sink_channel(target to) {
    auto started = clock::now();
    auto bound = options_.call_timeout;
    auto ch = context_.peer.open_to(peer_id(to), proto::sink_service);
    std::uint64_t bytes = 0;
    for (std::size_t i = 0; i < stream_count; ++i) {
      auto message = random_bytes(0, stream_size);
      bytes += message.size();
      if (auto sent = ch.write(std::move(message), remaining(started, bound)); !sent)
        return failed(sent.error());
    }
    if (auto closed = ch.close_write(); !closed) return failed(closed.error());
    auto end = ch.read(remaining(started, bound));
    if (end.is_error()) return failed(end.error());
    if (!end.is_end()) return anomaly("data_mismatch", "sink sent a message");
    auto trailers = ch.meta().trailers;
    if (trailers[proto::count_key] != std::to_string(stream_count) ||
        trailers[proto::bytes_key] != std::to_string(bytes))
      return anomaly("data_mismatch", "sink counted " + trailers[proto::count_key] + " messages, " +
                                          trailers[proto::bytes_key] + " bytes");
    return {};
  }

  call_record source_channel(target to) {
    auto started = clock::now();
    auto bound = options_.call_timeout;
    auto ch = context_.peer.open_to(peer_id(to), proto::source_service,
                                    {{proto::count_key, std::to_string(stream_count)},
                                     {proto::size_key, std::to_string(stream_size)}});
    if (auto closed = ch.close_write(); !closed) return failed(closed.error());
    for (std::size_t i = 0;; ++i) {
      auto next = ch.read(remaining(started, bound));
      if (next.is_error()) return failed(next.error());
      if (next.is_end()) {
        if (i != stream_count)
          return anomaly("data_mismatch", "source ended after " + std::to_string(i) + " messages");
        return {};
      }
      if (i >= stream_count) return anomaly("data_mismatch", "source sent too many messages");
      if (next->size() != stream_size || proto::get_index(*next) != i)
        return anomaly("data_mismatch",
                       "message " + std::to_string(i) + " has the wrong size or index");
    }
  }

  // A server stream cancelled by the soak after a few items: cancelled, and nothing after it.
  call_record cancel_stream(target to) {
    auto started = clock::now();
    auto call = context_.rpc.server_stream<proto::stream_item>(
        proto::rpc_stream, proto::stream_request{endless_count, stream_size},
        call_options(to, options_.call_timeout));
    for (std::size_t i = 0; i < items_before_cancel; ++i) {
      auto item = call.read(remaining(started, options_.call_timeout + hang_margin));
      if (!item) return failed_within(item.error(), started, options_.call_timeout);
      if (!*item) return anomaly("data_mismatch", "an endless stream ended");
    }
    call.cancel();
    auto after = call.read(remaining(started, options_.call_timeout + hang_margin));
    if (after) return anomaly("data_after_cancel", "a read after cancel() gave an item or the end");
    return failed_within(after.error(), started, options_.call_timeout);
  }

  // A sleep the soak cancels while the handler sleeps.
  call_record cancel_sleep(target to) {
    auto started = clock::now();
    auto stream = context_.rpc.open_call(proto::rpc_sleep, call_options(to, options_.call_timeout));
    auto request = proto::sleep_request{static_cast<std::uint64_t>(options_.call_timeout.count())};
    if (auto sent = stream.write_as(request); !sent) {
      auto status = stream.read(remaining(started, options_.call_timeout + hang_margin));
      return failed(status ? sent.error() : status.error());
    }
    (void)stream.close_write();
    std::uniform_int_distribution<int> wait_ms(min_short_ms, max_short_ms);
    auto early = stream.read(milliseconds{wait_ms(random_)});
    if (early) return anomaly("data_mismatch", "the sleep answered before it was cancelled");
    // deadline_exceeded alone means the read's own timeout passed and the call goes on.
    if (early.error().code != duplex::errc::deadline_exceeded) return failed(early.error());
    stream.cancel();
    auto after = stream.read(remaining(started, options_.call_timeout + hang_margin));
    if (after) return anomaly("data_after_cancel", "a read after cancel() gave a reply or the end");
    return failed_within(after.error(), started, options_.call_timeout);
  }

  // A sleep with a deadline drawn from the same range: roughly half expire. deadline_exceeded
  // must never come before the deadline, nor long after it.
  call_record short_deadline(target to) {
    std::uniform_int_distribution<int> range(min_short_ms, max_short_ms);
    proto::sleep_request request{static_cast<std::uint64_t>(range(random_))};
    milliseconds timeout{range(random_)};
    auto started = clock::now();
    auto reply =
        context_.rpc.call<proto::sleep_reply>(proto::rpc_sleep, request, call_options(to, timeout));
    auto took = clock::now() - started;
    if (took > timeout + hang_margin)
      return anomaly("hung",
                     "the call ended " +
                         std::to_string(std::chrono::duration_cast<milliseconds>(took).count()) +
                         " ms after it started, with a deadline of " +
                         std::to_string(timeout.count()) + " ms");
    if (reply) return {};
    if (reply.code() == duplex::errc::deadline_exceeded && took < timeout)
      return anomaly("early_deadline",
                     "deadline_exceeded after " +
                         std::to_string(std::chrono::duration_cast<milliseconds>(took).count()) +
                         " ms with a deadline of " + std::to_string(timeout.count()) + " ms");
    return failed(reply.error());
  }

  const traffic_context& context_;
  const traffic_options& options_;
  std::mt19937_64 random_;
};

// The operations `options` selects, in the mix's order.
std::vector<mix::entry> selected(const traffic_options& options) {
  std::vector<mix::entry> chosen;
  for (const auto& op : mix::operations())
    if (options.operations.empty() ||
        std::find(options.operations.begin(), options.operations.end(), op.name) !=
            options.operations.end())
      chosen.push_back(op);
  return chosen;
}

}  // namespace

const std::vector<std::string>& operation_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> all;
    for (const auto& op : mix::operations()) all.push_back(op.name);
    return all;
  }();
  return names;
}

bool run_each_once(const traffic_context& context, const traffic_options& options, target to) {
  mix worker(context, options, options.seed);
  for (const auto& op : selected(options)) {
    auto unexpected = context.tally.snapshot().unexpected;
    worker.run(op, to);
    if (context.tally.snapshot().unexpected != unexpected) return false;
  }
  return true;
}

traffic::traffic(const traffic_context& context, const traffic_options& options,
                 clock::time_point until) {
  for (std::size_t i = 0; i < options.threads; ++i) {
    workers_.emplace_back([this, &context, &options, until, i] {
      mix worker(context, options, options.seed + i + 1);
      auto ops = selected(options);
      if (ops.empty()) return;
      // Each worker starts elsewhere in the mix and alternates targets, so that every
      // operation runs against both peers at all times.
      for (std::size_t n = i; !stopping_ && clock::now() < until; ++n) {
        auto to = (n / ops.size() + i) % 2 == 0 ? target::stable : target::restarted;
        if (worker.run(ops[n % ops.size()], to) == duplex::errc::unavailable)
          std::this_thread::sleep_for(unavailable_pause);
      }
    });
  }
}

traffic::~traffic() {
  stop();
  join();
}

void traffic::join() {
  for (auto& worker : workers_)
    if (worker.joinable()) worker.join();
}

}  // namespace duplex_soak
