// Starting a duplex-testpeer for the soak (on duplex_examples::child_process, its output
// captured) and finding the lines it prints: BOUND, READY, STOPPED.
//
// The testpeer stops by itself when the thread that started it ends (it sets
// PR_SET_PDEATHSIG), so start test peers from a thread that lives as long as they should.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <duplex/error.hpp>

#include "common/process.hpp"

namespace duplex_soak {

struct running_testpeer {
  std::unique_ptr<duplex_examples::child_process> process;
  std::string endpoint;  // the first BOUND endpoint (a tcp port 0 resolved)
};

// Starts `argv` (argv[0] the program's path; one --bind) and waits up to `limit` for BOUND and
// READY. unavailable, with what it printed, when it ends or stays silent instead; unknown when
// it cannot be started at all.
duplex::result<running_testpeer> start_testpeer(std::vector<std::string> argv,
                                                std::chrono::milliseconds limit);

// The next line starting with `prefix` (the prefix and one space removed), skipping others;
// std::nullopt when none comes within `limit` or the output closed first. Skipped lines are
// appended to `skipped` when given.
std::optional<std::string> next_line(duplex_examples::child_process& process,
                                     std::string_view prefix, std::chrono::milliseconds limit,
                                     std::vector<std::string>* skipped = nullptr);

}  // namespace duplex_soak
