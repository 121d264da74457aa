#include "harness/testpeer_process.hpp"

#include <algorithm>
#include <stdexcept>
#include <thread>

namespace duplex::testing {

namespace {

using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

milliseconds until(clock::time_point deadline) {
  auto left = std::chrono::duration_cast<milliseconds>(deadline - clock::now());
  return std::max(left, milliseconds{0});
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// What start() reports when the process exits before READY: restart() may try again.
struct exited_early : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace

const char* testpeer_program() {
  return DUPLEX_TESTPEER_PATH;
}

std::vector<std::string> split_words(std::string_view line) {
  std::vector<std::string> words;
  std::size_t at = 0;
  while (at < line.size()) {
    auto begin = line.find_first_not_of(' ', at);
    if (begin == std::string_view::npos) break;
    auto end = std::min(line.find(' ', begin), line.size());
    words.emplace_back(line.substr(begin, end - begin));
    at = end;
  }
  return words;
}

testpeer_process::testpeer_process(std::vector<std::string> args, std::vector<std::string> launcher,
                                   milliseconds limit)
    : args_(std::move(args)), launcher_(std::move(launcher)) {
  start(limit);
}

std::vector<std::string> testpeer_process::command_line() const {
  std::vector<std::string> argv = launcher_;
  argv.push_back(testpeer_program());
  argv.insert(argv.end(), args_.begin(), args_.end());
  return argv;
}

void testpeer_process::start(milliseconds limit) {
  auto deadline = clock::now() + limit;
  endpoints_.clear();
  peer_id_.clear();
  session_id_.clear();
  lines_.clear();
  process_.reset();
  process_.emplace(command_line(), duplex_examples::child_output::capture);
  auto describe = [&](const std::string& what) {
    std::string text = "duplex-testpeer (pid " + std::to_string(pid()) + ") " + what;
    for (const auto& line : lines_) text += "\n  | " + line;
    return text;
  };
  while (true) {
    auto line = process_->read_line(until(deadline));
    if (!line) {
      if (process_->output_closed()) {
        auto status = process_->wait_exit(until(deadline) + milliseconds{1000});
        throw exited_early(
            describe("ended before READY: " + (status ? status->describe() : "still running")));
      }
      process_->kill();
      throw std::runtime_error(
          describe("printed no READY within " + std::to_string(limit.count()) + " ms"));
    }
    lines_.push_back(*line);
    auto words = split_words(*line);
    if (words.size() == 2 && words[0] == "BOUND") endpoints_.push_back(words[1]);
    if (words.size() == 3 && words[0] == "READY") {
      peer_id_ = words[1];
      session_id_ = words[2];
      return;
    }
  }
}

exit_status testpeer_process::kill() {
  return process_ ? process_->kill() : exit_status{};
}

void testpeer_process::suspend() {
  if (process_) process_->suspend();
}

void testpeer_process::resume() {
  if (process_) process_->resume();
}

exit_status testpeer_process::terminate(milliseconds grace) {
  return process_ ? process_->stop(grace) : exit_status{};
}

void testpeer_process::restart(milliseconds limit) {
  kill();
  // The same endpoints as before: a tcp port 0 becomes the port the first start got.
  std::size_t next_bound = 0;
  for (std::size_t i = 0; i < args_.size(); ++i) {
    if (next_bound >= endpoints_.size()) break;
    if (args_[i] == "--bind" && i + 1 < args_.size())
      args_[++i] = endpoints_[next_bound++];
    else if (starts_with(args_[i], "--bind="))
      args_[i] = "--bind=" + endpoints_[next_bound++];
  }
  auto deadline = clock::now() + limit;
  while (true) {
    try {
      start(until(deadline));
      return;
    } catch (const exited_early&) {
      // Most likely the endpoint is not free yet; try again until the limit.
      if (clock::now() + milliseconds{50} >= deadline) throw;
      std::this_thread::sleep_for(milliseconds{50});
    }
  }
}

std::optional<std::string> testpeer_process::expect_line(std::string_view prefix,
                                                         milliseconds limit) {
  if (!process_) return std::nullopt;
  auto deadline = clock::now() + limit;
  while (true) {
    auto line = process_->read_line(until(deadline));
    if (!line) return std::nullopt;
    lines_.push_back(*line);
    if (starts_with(*line, prefix)) return line;
  }
}

}  // namespace duplex::testing
