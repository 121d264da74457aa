// duplex-bench-channels: what an idle channel costs in memory on each side. Opens --n channels
// to duplex-bench-server's bench.idle service, reads each one's ack (so the channel is
// established at both ends), waits until the server holds all of them, and compares both
// processes' RSS before and after:
//
//   RESULT sys=duplex mode=idle_channels n=<N> client_bytes_per_channel=<x>
//          server_bytes_per_channel=<y>                              (one line)
//   DETAIL client_rss_before=<bytes> client_rss_after=<bytes> server_rss_before=<bytes>
//          server_rss_after=<bytes> open_secs=<seconds to open N and read every ack>
//
//   duplex-bench-channels (--port P | --endpoint E) --n N [--max-channels M]
//
// --max-channels sets peer_options::max_channels_per_remote here (the server has its own
// flag); without it Duplex's default applies. Exit code 1 with the reason on stderr when a
// channel fails (e.g. refused by a limit), 2 for a bad command line.
#include <duplex/duplex.hpp>
#include <duplex/rpc.hpp>

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench_protocol.hpp"
#include "command_line.hpp"
#include "latency.hpp"
#include "rss.hpp"

namespace {

using namespace duplex_bench;
using std::chrono::milliseconds;

constexpr const char* program = "duplex-bench-channels";
constexpr milliseconds call_limit{10'000};
// One channel's ack may wait behind every OPEN before it: generous, but bounded.
constexpr milliseconds ack_limit{60'000};
// How long the server may take to count the last channels after the last ack arrived.
constexpr int settle_polls = 100;
constexpr milliseconds settle_pause{50};
constexpr int warm_up_calls = 100;

stats_reply server_stats(duplex::rpc::node& rpc) {
  duplex::rpc::call_options options;
  options.timeout = call_limit;
  auto reply = rpc.call<stats_reply>(rpc_stats, duplex::bytes{}, options);
  if (!reply) throw std::runtime_error("bench/stats: " + reply.error().to_string());
  return *reply;
}

double per_channel(std::uint64_t before, std::uint64_t after, long n) {
  return (static_cast<double>(after) - static_cast<double>(before)) / static_cast<double>(n);
}

void run(duplex::peer& self, duplex::rpc::node& rpc, const settings& config) {
  for (int i = 0; i < warm_up_calls; ++i) server_stats(rpc);  // connects and warms the path
  std::vector<duplex::channel> channels;
  channels.reserve(static_cast<std::size_t>(config.n));  // before the baseline: not Duplex's
  const auto client_before = resident_bytes();
  const auto server_before = server_stats(rpc).rss_bytes;

  const auto t0 = now_ns();
  for (long i = 0; i < config.n; ++i) channels.push_back(self.open(idle_service));
  for (std::size_t i = 0; i < channels.size(); ++i) {
    auto ack = channels[i].read(ack_limit);
    if (!ack.is_message() || ack->size() != 1 || ack->front() != idle_ack)
      throw std::runtime_error(
          "channel " + std::to_string(i + 1) + " of " + std::to_string(config.n) + ": " +
          (ack.is_error() ? ack.error().to_string() : std::string("no ack but another message")));
  }
  const auto open_secs = static_cast<double>(now_ns() - t0) / 1e9;

  auto stats = server_stats(rpc);
  for (int poll = 0; poll < settle_polls && stats.idle_channels < channels.size(); ++poll) {
    std::this_thread::sleep_for(settle_pause);
    stats = server_stats(rpc);
  }
  if (stats.idle_channels != channels.size())
    throw std::runtime_error("the server holds " + std::to_string(stats.idle_channels) +
                             " channels, expected " + std::to_string(channels.size()));
  const auto client_after = resident_bytes();

  std::printf(
      "RESULT sys=duplex mode=idle_channels n=%ld client_bytes_per_channel=%.0f "
      "server_bytes_per_channel=%.0f\n",
      config.n, per_channel(client_before, client_after, config.n),
      per_channel(server_before, stats.rss_bytes, config.n));
  std::printf(
      "DETAIL client_rss_before=%llu client_rss_after=%llu server_rss_before=%llu "
      "server_rss_after=%llu open_secs=%.3f\n",
      static_cast<unsigned long long>(client_before), static_cast<unsigned long long>(client_after),
      static_cast<unsigned long long>(server_before),
      static_cast<unsigned long long>(stats.rss_bytes), open_secs);
  std::fflush(stdout);
  for (auto& ch : channels) ch.close();
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  auto config = parse_settings(argc, argv, program, /*port_zero_ok=*/false);
  try {
    duplex::runtime rt;
    duplex::peer_options options;
    if (config.max_channels > 0) options.max_channels_per_remote = config.max_channels;
    duplex::peer self{rt, options};
    duplex::rpc::service_registry none;
    duplex::rpc::node rpc(self, none);
    if (auto connected = self.connect(config.resolved_endpoint()); !connected)
      throw std::runtime_error("cannot connect to " + config.resolved_endpoint() + ": " +
                               connected.error().to_string());
    run(self, rpc, config);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: n=%ld: %s\n", program, config.n, e.what());
    return 1;
  }
  return 0;
}
