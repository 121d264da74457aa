// Durations as the command line spells them ("500ms", "2s", "1.5m", "1h") and the time budget
// a --timeout gives a command.
#pragma once

#include <CLI/CLI.hpp>
#include <duplex/error.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace duplex_cli {

using std::chrono::milliseconds;
using clock = std::chrono::steady_clock;

// A positive number with a unit (ms, s, m, h); std::nullopt for anything else.
std::optional<milliseconds> parse_duration(const std::string& text);

// The shortest exact spelling parse_duration() reads back: "10s", "1500ms".
std::string spell_duration(milliseconds d);

// Rejects what parse_duration() rejects, as a CLI11 usage error.
CLI::Validator duration_check();

// How long a command waits for its remote peer when --timeout does not say.
inline constexpr milliseconds default_timeout{10'000};

// One deadline for connecting and calling together, counted from construction.
class time_budget {
 public:
  // std::nullopt: connecting waits default_timeout and the call has no deadline.
  explicit time_budget(std::optional<milliseconds> total);

  clock::time_point connect_deadline() const;
  // The call's timeout: what is left of the total (duplex::forever without one);
  // deadline_exceeded when nothing is left.
  duplex::result<milliseconds> call_timeout() const;

 private:
  clock::time_point start_;
  std::optional<milliseconds> total_;
};

}  // namespace duplex_cli
