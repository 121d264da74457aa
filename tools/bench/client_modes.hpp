// The four timed cases of duplex-bench-client, each the Duplex twin of the shared peer
// clients' mode of the same name. Each prints the RESULT line when it succeeds and throws
// bench_failure (with what went wrong) when a call fails or a reply is not what was sent.
#pragma once

#include <duplex/rpc.hpp>

#include <stdexcept>

#include "command_line.hpp"

namespace duplex_bench {

struct bench_failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct client_context {
  duplex::rpc::node& rpc;
  const settings& config;
  duplex::bytes payload;  // config.size bytes
};

// 1000 untimed echo calls, the first of which also waits for the connection.
void warm_up(client_context& c);

// One echo call at a time (blocking call()), latency per call.
void run_unary_seq(client_context& c);
// config.inflight echo calls outstanding through call_async(), issued from this one thread.
void run_unary_inflight(client_context& c);
// config.n messages of config.size bytes on one server stream, each read and checked.
void run_server_stream(client_context& c);
// Sequential round trips on one bidi call.
void run_pingpong(client_context& c);

}  // namespace duplex_bench
