#include "testpeer_launch.hpp"

#include <exception>

namespace duplex_soak {

namespace {

// What an error message quotes of a test peer that did not start.
constexpr std::size_t max_quoted_lines = 20;

}  // namespace

std::optional<std::string> next_line(duplex_examples::child_process& process,
                                     std::string_view prefix, std::chrono::milliseconds limit,
                                     std::vector<std::string>* skipped) {
  auto give_up = std::chrono::steady_clock::now() + limit;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        give_up - std::chrono::steady_clock::now());
    auto line = process.read_line(std::max(left, std::chrono::milliseconds{0}));
    if (!line) return std::nullopt;
    if (line->compare(0, prefix.size(), prefix) == 0) {
      auto rest = line->substr(prefix.size());
      if (!rest.empty() && rest.front() == ' ') rest.erase(0, 1);
      return rest;
    }
    if (skipped && skipped->size() < max_quoted_lines) skipped->push_back(*line);
  }
}

duplex::result<running_testpeer> start_testpeer(std::vector<std::string> argv,
                                                std::chrono::milliseconds limit) {
  running_testpeer peer;
  try {
    peer.process = std::make_unique<duplex_examples::child_process>(
        argv, duplex_examples::child_output::capture);
  } catch (const std::exception& e) {
    return duplex::error{duplex::errc::unknown, e.what()};
  }
  auto give_up = std::chrono::steady_clock::now() + limit;
  auto left = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(give_up -
                                                                 std::chrono::steady_clock::now());
  };
  std::vector<std::string> printed;
  auto failure = [&](const std::string& what) {
    std::string text = argv[0] + " " + what;
    if (auto status = peer.process->wait_exit(std::chrono::milliseconds{0}))
      text += " (" + status->describe() + ")";
    for (const auto& line : printed) text += "; printed: " + line;
    return duplex::error{duplex::errc::unavailable, text};
  };
  auto bound = next_line(*peer.process, "BOUND", left(), &printed);
  if (!bound) return failure("printed no BOUND line");
  peer.endpoint = *bound;
  if (!next_line(*peer.process, "READY", left(), &printed)) return failure("printed no READY line");
  return peer;
}

}  // namespace duplex_soak
