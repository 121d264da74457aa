#include "process.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <thread>

extern char** environ;

namespace duplex_examples {

namespace {

std::atomic<bool> termination_flag{false};

void on_termination_signal(int) {
  termination_flag = true;
}

}  // namespace

std::string exit_status::describe() const {
  if (signal != 0) return "signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  return "exit code " + std::to_string(code);
}

child_process::child_process(std::vector<std::string> argv) {
  std::vector<char*> args;
  for (auto& arg : argv) args.push_back(arg.data());
  args.push_back(nullptr);
  int failed = posix_spawn(&pid_, args[0], nullptr, nullptr, args.data(), environ);
  if (failed != 0) {
    pid_ = -1;
    throw std::system_error(failed, std::generic_category(), "cannot start " + argv[0]);
  }
}

child_process::~child_process() {
  if (pid_ > 0) kill();
}

child_process::child_process(child_process&& other) noexcept : pid_(other.pid_) {
  other.pid_ = -1;
}

std::optional<exit_status> child_process::wait_exit(std::chrono::milliseconds limit) {
  if (pid_ <= 0) return exit_status{};
  auto give_up = std::chrono::steady_clock::now() + limit;
  while (true) {
    int status = 0;
    pid_t reaped = ::waitpid(pid_, &status, WNOHANG);
    if (reaped == pid_ || (reaped < 0 && errno != EINTR)) {
      pid_ = -1;
      if (reaped < 0) return exit_status{-1, 0};
      if (WIFSIGNALED(status)) return exit_status{0, WTERMSIG(status)};
      return exit_status{WEXITSTATUS(status), 0};
    }
    if (std::chrono::steady_clock::now() >= give_up) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
}

exit_status child_process::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return {};
  ::kill(pid_, SIGTERM);
  if (auto status = wait_exit(grace)) return *status;
  return kill();
}

exit_status child_process::kill() {
  if (pid_ <= 0) return {};
  ::kill(pid_, SIGKILL);
  // A killed process always ends; the bound only guards against a stuck kernel.
  if (auto status = wait_exit(std::chrono::seconds{10})) return *status;
  return exit_status{-1, SIGKILL};
}

void catch_termination_signals() {
  struct sigaction action {};
  action.sa_handler = on_termination_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
}

bool termination_requested() {
  return termination_flag;
}

}  // namespace duplex_examples
