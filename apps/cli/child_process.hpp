// Runs a program with text on its stdin and collects what it prints; kills it (and whatever
// it started) as soon as it is asked to stop.
#pragma once

#include <duplex/error.hpp>

#include <functional>
#include <string>
#include <vector>

namespace duplex_cli {

struct process_outcome {
  int exit_code = 0;  // when signal is 0
  int signal = 0;     // the signal that ended it; 0 when it exited
  std::string out;
  std::string err;  // at most the first max_error_bytes
};

inline constexpr std::size_t max_error_bytes = 64u << 10;

// `argv[0]` is looked up in PATH. `stop` is asked every few milliseconds while the program
// runs: true kills it and gives cancelled. Failures: unknown (cannot start it) and
// resource_exhausted (stdout beyond max_output bytes; the program is killed).
duplex::result<process_outcome> run_process(const std::vector<std::string>& argv,
                                            const std::string& input,
                                            const std::function<bool()>& stop,
                                            std::size_t max_output);

}  // namespace duplex_cli
