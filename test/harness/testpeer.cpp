// duplex-testpeer: one peer in a process of its own, serving what the reliability tests need,
// so that they can kill, hang and restart it. The services are described in
// testpeer_protocol.hpp; the command line and the output here.
//
//   duplex-testpeer [--bind EP]... [--connect EP]... [--id ID]
//                   [--heartbeat-ms 1000] [--heartbeat-timeout-ms 3000]
//                   [--reconnect-ms 100] [--reconnect-max-ms 1000] [--linger-ms 1000]
//
// Standard output, one line per event, written at once (never left in a buffer):
//   BOUND <endpoint>                           per --bind, as bound (tcp port 0 resolved)
//   READY <peer id> <session id>               serving; every --connect was started
//   CONNECTED <remote peer id>                 from peer::on_event, after READY
//   DISCONNECTED <remote peer id> <code> <message...>
//   REJECTED <remote peer id or endpoint> <code> <message...>
//   STOPPED                                    SIGTERM or SIGINT: shut down; then exit 0
// <code> is the errc name, e.g. unavailable. Bad arguments: a message on stderr, exit code 2;
// an endpoint that cannot be bound or connected for another reason: exit code 1.
// When its parent process dies the testpeer stops as on SIGTERM, so that a test runner that
// was killed leaves no peer behind.
#include <duplex/duplex.hpp>
#include <duplex/rpc.hpp>

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/process.hpp"
#include "harness/testpeer_protocol.hpp"

namespace {

using namespace std::chrono_literals;
using namespace duplex::testpeer;
using std::chrono::milliseconds;

constexpr int usage_error = 2;
constexpr int start_failure = 1;

struct testpeer_config {
  std::vector<std::string> bind;
  std::vector<std::string> connect;
  std::string id;
  std::int64_t heartbeat_ms = 1000;
  std::int64_t heartbeat_timeout_ms = 3000;
  std::int64_t reconnect_ms = 100;
  std::int64_t reconnect_max_ms = 1000;
  std::int64_t linger_ms = 1000;
};

// Every option of the command line: a new one goes here and into to_peer_options().
void add_options(CLI::App& app, testpeer_config& config) {
  const auto positive = CLI::Range(std::int64_t{1}, std::int64_t{86'400'000});  // up to a day
  const auto non_negative = CLI::Range(std::int64_t{0}, std::int64_t{86'400'000});
  app.add_option("--bind", config.bind, "Endpoint to bind (repeatable)");
  app.add_option("--connect", config.connect, "Endpoint to connect to (repeatable)");
  app.add_option("--id", config.id, "Peer id (default: a random one)");
  app.add_option("--heartbeat-ms", config.heartbeat_ms, "Heartbeat interval")->check(positive);
  app.add_option("--heartbeat-timeout-ms", config.heartbeat_timeout_ms, "Heartbeat timeout")
      ->check(positive);
  app.add_option("--reconnect-ms", config.reconnect_ms, "First reconnect interval")
      ->check(positive);
  app.add_option("--reconnect-max-ms", config.reconnect_max_ms, "Longest reconnect interval")
      ->check(positive);
  app.add_option("--linger-ms", config.linger_ms, "How long shutdown sends what is queued")
      ->check(non_negative);
}

duplex::peer_options to_peer_options(const testpeer_config& config) {
  duplex::peer_options options;
  options.peer_id = config.id;
  options.heartbeat_interval = milliseconds{config.heartbeat_ms};
  options.heartbeat_timeout = milliseconds{config.heartbeat_timeout_ms};
  options.reconnect_interval = milliseconds{config.reconnect_ms};
  options.reconnect_interval_max = milliseconds{config.reconnect_max_ms};
  options.linger = milliseconds{config.linger_ms};
  return options;
}

// One write(2) per line: lines from several threads never interleave and none waits in a
// buffer. Errors are ignored: a reader that went away must not stop the peer (SIGPIPE is
// ignored too).
void say(const std::string& text) {
  std::string line = text + "\n";
  const char* next = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    auto written = ::write(STDOUT_FILENO, next, left);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return;
    next += written;
    left -= static_cast<std::size_t>(written);
  }
}

void print_event(const duplex::peer_event& event) {
  auto code_and_message = [&] {
    return std::string(duplex::to_string(event.reason.code)) + " " + event.reason.message;
  };
  switch (event.what) {
    case duplex::peer_event::kind::connected:
      say("CONNECTED " + event.remote_peer_id);
      break;
    case duplex::peer_event::kind::disconnected:
      say("DISCONNECTED " + event.remote_peer_id + " " + code_and_message());
      break;
    case duplex::peer_event::kind::rejected:
      say("REJECTED " + event.remote_peer_id + " " + code_and_message());
      break;
  }
}

// ---- channel services ----

void serve_echo(duplex::channel ch) {
  while (true) {
    auto next = ch.read();
    if (next.is_message()) {
      if (!ch.write(std::move(*next))) return;
      continue;
    }
    if (next.is_end()) ch.close_write();
    return;  // an error: the channel is already over
  }
}

void serve_sink(duplex::channel ch) {
  std::uint64_t count = 0;
  std::uint64_t total = 0;
  while (true) {
    auto next = ch.read();
    if (next.is_message()) {
      ++count;
      total += next->size();
      continue;
    }
    if (!next.is_end()) return;
    ch.write_trailers({{count_key, std::to_string(count)}, {bytes_key, std::to_string(total)}});
    ch.close_write();
    return;
  }
}

std::optional<std::uint64_t> number_header(const duplex::metadata& headers, const char* key) {
  auto it = headers.find(key);
  if (it == headers.end() || it->second.empty() ||
      it->second.find_first_not_of("0123456789") != std::string::npos || it->second.size() > 19)
    return std::nullopt;
  return std::stoull(it->second);
}

void serve_source(duplex::channel ch) {
  auto headers = ch.meta().headers;
  auto count = number_header(headers, count_key);
  auto size = number_header(headers, size_key);
  if (!count || !size || *size < index_size) {
    ch.write_error(duplex::errc::invalid_argument,
                   "source needs the headers count (a number) and size (a number, at least " +
                       std::to_string(index_size) + ")");
    return;
  }
  duplex::bytes message(*size);
  for (std::uint64_t index = 0; index < *count; ++index) {
    put_index(message, index);
    if (auto written = ch.write(message); !written) {
      if (written.code() == duplex::errc::resource_exhausted)
        ch.write_error(written.code(), written.error().message);
      return;
    }
  }
  ch.close_write();
  // Ends when the opener does, like echo: the opener decides when the channel is over.
  while (ch.read().is_message()) {
  }
}

// ---- RPC service `test` ----

duplex::rpc::service test_service() {
  using duplex::rpc::call_context;
  duplex::rpc::service test(rpc_service, "What the reliability tests call", "1.0.0");
  test.unary<echo_message, echo_message>(
      {"echo", "Returns the request", "EchoMessage", "EchoMessage"},
      [](const echo_message& request, call_context&) -> duplex::result<echo_message> {
        return request;
      });
  test.unary<sleep_request, sleep_reply>(
      {"sleep", "Blocks its handler thread for `ms` unless the call is cancelled first",
       "SleepRequest", "SleepReply"},
      [](const sleep_request& request, call_context& ctx) -> duplex::result<sleep_reply> {
        auto start = std::chrono::steady_clock::now();
        // Capped so that the duration cannot overflow; a year is "forever" here.
        auto ms = static_cast<std::int64_t>(std::min<std::uint64_t>(request.ms, 31'536'000'000));
        if (ctx.wait_cancelled(milliseconds{ms})) return ctx.cancel_reason();
        auto slept =
            std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start);
        return sleep_reply{static_cast<std::uint64_t>(slept.count())};
      });
  test.server_stream<stream_request, stream_item>(
      {"stream", "Sends `count` items of `size` data bytes", "StreamRequest", "StreamItem"},
      [](const stream_request& request, duplex::rpc::writer<stream_item>& out,
         call_context& ctx) -> duplex::result<void> {
        stream_item item;
        item.data.resize(request.size);
        for (std::uint64_t index = 0; index < request.count; ++index) {
          if (ctx.cancelled()) return ctx.cancel_reason();
          item.index = index;
          if (auto written = out.write(item); !written) return written;
        }
        return {};
      });
  test.client_stream<stream_item, collect_reply>(
      {"collect", "Counts the items it is sent and their data bytes", "StreamItem", "CollectReply"},
      [](duplex::rpc::reader<stream_item>& in, call_context&) -> duplex::result<collect_reply> {
        collect_reply reply;
        while (true) {
          auto next = in.read();
          if (!next) return next.error();
          if (!*next) return reply;
          ++reply.count;
          reply.total_bytes += (*next)->data.size();
        }
      });
  return test;
}

int fail(int exit_code, const std::string& what) {
  std::cerr << "duplex-testpeer: " << what << std::endl;
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  // Before any thread starts, so that every thread leaves the signals to sigwait().
  duplex_examples::block_termination_signals();
  ::signal(SIGPIPE, SIG_IGN);
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);

  testpeer_config config;
  CLI::App app{"A Duplex peer serving echo, sink, source and the RPC service test"};
  add_options(app, config);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : usage_error;  // --help is not an error
  }
  auto options = to_peer_options(config);
  if (auto valid = options.validate(); !valid) return fail(usage_error, valid.error().to_string());

  try {
    duplex::runtime rt;
    duplex::peer self{rt, options};
    self.handle(echo_service, serve_echo);
    self.handle(sink_service, serve_sink);
    self.handle(source_service, serve_source);
    duplex::rpc::service_registry services;
    services.add(test_service()).value();
    auto rpc = std::make_unique<duplex::rpc::node>(self, services);
    self.on_event(print_event);

    auto exit_code_for = [](const duplex::error& e) {
      return e.code == duplex::errc::invalid_argument ? usage_error : start_failure;
    };
    for (const auto& endpoint : config.bind) {
      auto bound = self.bind(endpoint);
      if (!bound) return fail(exit_code_for(bound.error()), bound.error().to_string());
      say("BOUND " + *bound);
    }
    for (const auto& endpoint : config.connect) {
      auto connected = self.connect(endpoint);
      if (!connected) return fail(exit_code_for(connected.error()), connected.error().to_string());
    }
    say("READY " + self.id() + " " + self.session_id());

    duplex_examples::wait_for_termination_signal();
    self.on_event(nullptr);
    self.shutdown();  // remote channels end now (unavailable), queued frames leave in linger
    rpc.reset();      // cancels the calls still being served and waits for their handlers
  } catch (const std::exception& e) {
    return fail(start_failure, e.what());
  }
  say("STOPPED");
  return 0;
}
