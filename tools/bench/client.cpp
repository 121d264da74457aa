// duplex-bench-client: Duplex's side of the shared peer benchmark clients, with their flags and
// their RESULT line (see command_line.hpp, latency.hpp), against duplex-bench-server.
//
//   duplex-bench-client (--port P | --endpoint tcp://...|ipc://...) --mode MODE
//                       [--size 16] [--n 100000] [--inflight 32] [--max-secs 20] [--api rpc]
//
// Modes: unary_seq, unary_inflight, server_stream, pingpong (client_modes.hpp). Exit code 0
// with one RESULT line on stdout; 1 with the reason on stderr when anything failed; 2 for a
// bad command line.
#include <duplex/duplex.hpp>
#include <duplex/rpc.hpp>

#include <signal.h>

#include <cstdio>
#include <exception>
#include <map>
#include <string>

#include "client_modes.hpp"
#include "command_line.hpp"

namespace {

constexpr const char* program = "duplex-bench-client";

using mode_runner = void (*)(duplex_bench::client_context&);

const std::map<std::string, mode_runner>& modes() {
  static const std::map<std::string, mode_runner> all = {
      {"unary_seq", duplex_bench::run_unary_seq},
      {"unary_inflight", duplex_bench::run_unary_inflight},
      {"server_stream", duplex_bench::run_server_stream},
      {"pingpong", duplex_bench::run_pingpong},
  };
  return all;
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  auto config = duplex_bench::parse_settings(argc, argv, program, /*port_zero_ok=*/false);
  auto mode = modes().find(config.mode);
  if (mode == modes().end()) {
    std::fprintf(stderr,
                 "%s: unknown --mode '%s' (unary_seq, unary_inflight, server_stream, "
                 "pingpong)\n",
                 program, config.mode.c_str());
    return 2;
  }
  try {
    duplex::runtime rt;
    duplex::peer self{rt};
    duplex::rpc::service_registry none;
    duplex::rpc::node rpc(self, none);
    if (auto connected = self.connect(config.resolved_endpoint()); !connected) {
      std::fprintf(stderr, "%s: cannot connect to %s: %s\n", program,
                   config.resolved_endpoint().c_str(), connected.error().to_string().c_str());
      return 1;
    }
    duplex_bench::client_context context{rpc, config, duplex::bytes(config.size, 'x')};
    duplex_bench::warm_up(context);
    mode->second(context);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s: %s\n", program, config.mode.c_str(), e.what());
    return 1;
  }
  return 0;
}
