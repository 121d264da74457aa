// The command line of the benchmark programs: the flags of the shared peer harness
// (shared/bench/peers/common.hpp: `--flag value` pairs) plus --endpoint and --max-channels.
#pragma once

#include <cstddef>
#include <string>

namespace duplex_bench {

struct settings {
  std::string host = "127.0.0.1";
  int port = 0;
  // tcp://... or ipc://...; when empty, tcp://host:port.
  std::string endpoint;
  std::string mode;  // unary_seq | unary_inflight | server_stream | pingpong
  std::size_t size = 16;
  long n = 100'000;      // calls, messages or channels
  int inflight = 32;     // outstanding calls of unary_inflight
  double max_secs = 20;  // unary modes and pingpong stop after this long
  std::string api;       // a label for the RESULT line
  // peer_options::max_channels_per_remote; 0 keeps Duplex's default.
  std::size_t max_channels = 0;

  std::string resolved_endpoint() const;
};

// Parses argv; a bad or unknown flag prints a message on stderr and exits with code 2.
// `port_zero_ok`: a server may bind port 0 (any free port; READY names the one it got).
settings parse_settings(int argc, char** argv, const char* program, bool port_zero_ok);

}  // namespace duplex_bench
