// Child processes an example starts, stops and always reaps, and a child's side of being
// stopped: SIGTERM and SIGINT become a flag to poll.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace duplex_examples {

struct exit_status {
  int code = 0;    // the exit code when signal is 0
  int signal = 0;  // the signal that ended the process, or 0
  bool ok() const { return signal == 0 && code == 0; }
  // "exit code 0", "signal 9 (Killed)"
  std::string describe() const;
};

// A running program. The destructor kills (SIGKILL) and reaps a child that is still running,
// so that no path out of the parent leaves one behind.
class child_process {
 public:
  // argv[0] is the program's path. Throws std::system_error when it cannot be started.
  explicit child_process(std::vector<std::string> argv);
  ~child_process();
  child_process(child_process&& other) noexcept;
  child_process& operator=(child_process&&) = delete;
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  pid_t pid() const { return pid_; }

  // Waits up to `limit` for the child to end; std::nullopt while it still runs.
  std::optional<exit_status> wait_exit(std::chrono::milliseconds limit);
  // SIGTERM, up to `grace` to exit, then SIGKILL.
  exit_status stop(std::chrono::milliseconds grace);
  // SIGKILL: no chance to clean up, as in a crash.
  exit_status kill();

 private:
  pid_t pid_ = -1;  // -1 once reaped
};

// Turns SIGTERM and SIGINT into termination_requested() instead of ending the process, so
// that it can shut down in order. Call once, early in main().
void catch_termination_signals();
bool termination_requested();

}  // namespace duplex_examples
