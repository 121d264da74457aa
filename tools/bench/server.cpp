// duplex-bench-server: the serving side of Duplex's benchmark cases (bench_protocol.hpp).
//
//   duplex-bench-server [--port P | --endpoint tcp://...|ipc://...] [--max-channels N]
//
// Binds the endpoint (default tcp://127.0.0.1:<port>, port 0: any free one), prints
// `READY <bound endpoint>` on stdout, serves until SIGTERM or SIGINT, then shuts down and
// exits 0. Start-up failures: a message on stderr, exit code 1 (2 for a bad command line).
#include <duplex/duplex.hpp>
#include <duplex/rpc.hpp>

#include <signal.h>

#include <atomic>
#include <cstdio>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>

#include "bench_protocol.hpp"
#include "command_line.hpp"
#include "common/process.hpp"
#include "rss.hpp"

namespace {

using duplex::rpc::call_context;
using namespace duplex_bench;

constexpr const char* program = "duplex-bench-server";

// The bench.idle channels, held open until the server stops. A deque, so that a handle stays
// where it is while other handler threads add theirs.
class idle_store {
 public:
  duplex::channel& keep(duplex::channel ch) {
    std::lock_guard<std::mutex> lock(mutex_);
    channels_.push_back(std::move(ch));
    count_ = channels_.size();
    return channels_.back();
  }
  std::uint64_t count() const { return count_; }

 private:
  std::mutex mutex_;
  std::deque<duplex::channel> channels_;
  std::atomic<std::uint64_t> count_{0};
};

duplex::rpc::service bench_service(duplex::peer& self, const idle_store& idle) {
  duplex::rpc::service bench(rpc_service, "Duplex benchmark cases", "1.0.0");
  bench.unary<duplex::bytes, duplex::bytes>(
      {"echo", "Returns the request", "Bytes", "Bytes"},
      [](const duplex::bytes& request, call_context&) -> duplex::result<duplex::bytes> {
        return request;
      },
      duplex::rpc::handler_mode::nonblocking);  // it neither blocks nor waits
  bench.server_stream<stream_request, duplex::bytes>(
      {"stream", "Sends `count` messages of `size` bytes", "StreamRequest", "Bytes"},
      [](const stream_request& request, duplex::rpc::writer<duplex::bytes>& out,
         call_context&) -> duplex::result<void> {
        const duplex::bytes message(request.size, stream_fill);
        for (std::uint64_t i = 0; i < request.count; ++i)
          if (auto written = out.write(message); !written) return written;
        return {};
      });
  bench.bidi<duplex::bytes, duplex::bytes>(
      {"pingpong", "Writes back every message as it comes", "Bytes", "Bytes"},
      [](duplex::rpc::reader<duplex::bytes>& in, duplex::rpc::writer<duplex::bytes>& out,
         call_context&) -> duplex::result<void> {
        while (true) {
          auto next = in.read();
          if (!next) return next.error();
          if (!*next) return {};
          if (auto written = out.write(**next); !written) return written;
        }
      });
  bench.unary<duplex::bytes, stats_reply>(
      {"stats", "The server's RSS and idle channels", "Bytes", "StatsReply"},
      [&self, &idle](const duplex::bytes&, call_context&) -> duplex::result<stats_reply> {
        return stats_reply{resident_bytes(), idle.count(), self.channel_count()};
      });
  return bench;
}

void say_ready(const std::string& endpoint) {
  std::printf("READY %s\n", endpoint.c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  // Before any thread starts, so that every thread leaves the signals to sigwait().
  duplex_examples::block_termination_signals();
  ::signal(SIGPIPE, SIG_IGN);
  auto config = parse_settings(argc, argv, program, /*port_zero_ok=*/true);

  try {
    duplex::runtime rt;
    idle_store idle;  // outlives the peer, whose handlers use it; dies before the runtime
    duplex::peer_options options;
    if (config.max_channels > 0) options.max_channels_per_remote = config.max_channels;
    duplex::peer self{rt, options};
    self.handle(idle_service, [&idle](duplex::channel ch) {
      auto& kept = idle.keep(std::move(ch));
      (void)kept.write(duplex::bytes{idle_ack});  // a failure shows at the opener's read
    });
    duplex::rpc::service_registry services;
    services.add(bench_service(self, idle)).value();
    auto rpc = std::make_unique<duplex::rpc::node>(self, services);

    auto bound = self.bind(config.resolved_endpoint());
    if (!bound) {
      std::fprintf(stderr, "%s: cannot bind %s: %s\n", program, config.resolved_endpoint().c_str(),
                   bound.error().to_string().c_str());
      return 1;
    }
    say_ready(*bound);

    duplex_examples::wait_for_termination_signal();
    self.shutdown();  // remote channels end now (unavailable), queued frames leave in linger
    rpc.reset();      // cancels the calls still being served and waits for their handlers
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", program, e.what());
    return 1;
  }
  return 0;
}
