// The services both demo servers offer, and the typed payloads of the "thermo" service.
#pragma once

#include <duplex/duplex.hpp>

#include <cstdint>
#include <string>

#include "demo/support.hpp"

namespace duplex_demo {

// Typed payloads: described once (fields travel as a map with their names), carried by the
// msgpack and the JSON codec alike.
struct reading {
  std::string sensor;
  double celsius = 0;
  std::uint32_t sequence = 0;
  MSGPACK_DEFINE_MAP(sensor, celsius, sequence)
};

struct summary {
  std::uint32_t count = 0;
  double mean_celsius = 0;
  std::string content_type;  // the codec the server decoded with
  MSGPACK_DEFINE_MAP(count, mean_celsius, content_type)
};

std::string describe(const reading& r);
std::string describe(const summary& s);

// What the "report" service sends: this many rows, then this error.
inline constexpr int report_rows = 3;
inline constexpr duplex::errc report_error_code = duplex::errc::data_loss;
inline constexpr const char* report_error_message = "the report source went away after row 3";

// The name the "nest" service raises on `done` when its nested channel ended with the parent.
inline constexpr const char* nest_finished = "nest finished";

// Registers on `server`:
//   inbox   reads every message, then answers "received N messages" and ends its side
//   whoami  answers with the server's id
//   tally   acknowledges each message as it arrives; after the client's end and trailers it
//           sends a total and its own trailers
//   report  report_rows rows, then write_error(report_error_code, report_error_message)
//   nest    opens the nested channel "callback" back to the client and exchanges a message
//   thermo  decodes `reading`s with the channel's codec and answers with a `summary`
// Every handler reads the client's end of stream before it returns: a channel handle dropped
// before both directions ended cancels the channel, and the client would see `cancelled`.
// `out` and `done` must outlive `server`. A handler that finds something unexpected records
// it on `out` and throws (the client then reads `unknown`).
void serve_demo_services(duplex::peer& server, console& out, signals& done);

}  // namespace duplex_demo
