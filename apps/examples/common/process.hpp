// Child processes an example or a test starts, stops and always reaps, and a child's side of
// being stopped: SIGTERM and SIGINT become a flag to poll or a signal to wait for.
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

// Where a child's standard output goes.
enum class child_output {
  inherit,  // the parent's
  capture,  // a pipe the parent reads with child_process::read_line()
};

// A running program. The destructor kills (SIGKILL) and reaps a child that is still running,
// so that no path out of the parent leaves one behind.
class child_process {
 public:
  // argv[0] is the program's path, or a name looked up in PATH. Throws std::system_error when
  // it cannot be started.
  explicit child_process(std::vector<std::string> argv,
                         child_output output = child_output::inherit);
  ~child_process();
  child_process(child_process&& other) noexcept;
  child_process& operator=(child_process&&) = delete;
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }

  // Waits up to `limit` for the child to end; std::nullopt while it still runs.
  std::optional<exit_status> wait_exit(std::chrono::milliseconds limit);
  // SIGTERM, up to `grace` to exit, then SIGKILL.
  exit_status stop(std::chrono::milliseconds grace);
  // SIGKILL: no chance to clean up, as in a crash.
  exit_status kill();
  // SIGSTOP and SIGCONT: the child hangs (its sockets stay open, nothing answers) and goes on.
  void suspend();
  void resume();

  // With child_output::capture: the next line the child wrote (without its '\n'), waiting up
  // to `limit` for it; std::nullopt when none came in time or the child closed its output
  // (see output_closed()). The pipe holds 64 KiB: a child that prints more waits until the
  // parent reads.
  std::optional<std::string> read_line(std::chrono::milliseconds limit);
  bool output_closed() const { return output_fd_ < 0 && buffered_.empty(); }

 private:
  void close_output();

  pid_t pid_ = -1;        // -1 once reaped
  int output_fd_ = -1;    // the read end of the captured output, -1 when none or closed
  std::string buffered_;  // read but not yet returned by read_line()
};

// Turns SIGTERM and SIGINT into termination_requested() instead of ending the process, so
// that it can shut down in order. Call once, early in main().
void catch_termination_signals();
bool termination_requested();

// The blocking alternative: block_termination_signals() holds SIGTERM and SIGINT back in this
// thread and every thread it starts afterwards (call it first in main(), before any thread
// starts), and wait_for_termination_signal() waits for one of them and returns its number.
void block_termination_signals();
int wait_for_termination_signal();

}  // namespace duplex_examples
