// A duplex-testpeer process for tests: started with arguments, ready once it printed READY,
// then killed, hung, resumed, terminated or restarted by the test. Whatever happens in the
// test (a failed assertion, an exception), the destructor kills and reaps the process.
//
// Thread contract: not thread-safe; one test thread drives it. Create it on a thread that
// outlives the process (the test's own): the testpeer stops when the thread that started it
// ends (PR_SET_PDEATHSIG), which is what keeps a killed test run from leaving peers behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/process.hpp"

namespace duplex::testing {

using duplex_examples::exit_status;

class testpeer_process {
 public:
  using milliseconds = std::chrono::milliseconds;

  // How long starting may take (a loaded 2-core machine runs several test processes).
  static constexpr milliseconds start_limit{10'000};

  // Starts duplex-testpeer with `args` (see testpeer.cpp), through `launcher` if not empty
  // (e.g. {"ip", "netns", "exec", "ns1"}), and waits up to `limit` for READY. Throws
  // std::runtime_error, with what it printed, when it exits or stays silent instead.
  explicit testpeer_process(std::vector<std::string> args, std::vector<std::string> launcher = {},
                            milliseconds limit = start_limit);
  ~testpeer_process() = default;  // child_process's destructor kills and reaps
  testpeer_process(const testpeer_process&) = delete;
  testpeer_process& operator=(const testpeer_process&) = delete;

  // What the running process printed at start: every BOUND endpoint, its ids.
  const std::vector<std::string>& endpoints() const { return endpoints_; }
  // The first bound endpoint; empty without --bind.
  std::string endpoint() const { return endpoints_.empty() ? std::string{} : endpoints_[0]; }
  const std::string& peer_id() const { return peer_id_; }
  const std::string& session_id() const { return session_id_; }
  pid_t pid() const { return process_ ? process_->pid() : -1; }
  bool running() const { return process_ && process_->running(); }

  // SIGKILL, as in a crash; returns once the process is reaped.
  exit_status kill();
  // SIGSTOP / SIGCONT: a hung peer whose sockets stay open, then one that goes on.
  void suspend();
  void resume();
  // SIGTERM, then up to `grace` to exit (SIGKILL after that).
  exit_status terminate(milliseconds grace);
  // Kills the process if it still runs and starts it again with the same arguments, except
  // that each --bind takes the endpoint the first start actually bound (the same tcp port).
  // Retries while the endpoint is not free yet, up to `limit`.
  void restart(milliseconds limit = start_limit);

  // The next line that starts with `prefix`, waiting up to `limit`; the lines skipped on the
  // way are kept in lines(). std::nullopt when none came in time or the process ended.
  std::optional<std::string> expect_line(std::string_view prefix, milliseconds limit);
  // Every line read so far, in order (since the last start).
  const std::vector<std::string>& lines() const { return lines_; }

 private:
  void start(milliseconds limit);
  std::vector<std::string> command_line() const;

  std::vector<std::string> args_;
  std::vector<std::string> launcher_;
  std::optional<duplex_examples::child_process> process_;
  std::vector<std::string> endpoints_;
  std::string peer_id_;
  std::string session_id_;
  std::vector<std::string> lines_;
};

// The path of the duplex-testpeer program this build made.
const char* testpeer_program();

// The words of a line: "DISCONNECTED a unavailable gone" -> {"DISCONNECTED", "a", ...}.
std::vector<std::string> split_words(std::string_view line);

}  // namespace duplex::testing
