#include "process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <system_error>
#include <thread>
#include <utility>

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

child_process::child_process(std::vector<std::string> argv, child_output output) {
  std::vector<char*> args;
  for (auto& arg : argv) args.push_back(arg.data());
  args.push_back(nullptr);
  int pipe_fds[2] = {-1, -1};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (output == child_output::capture) {
    // Close-on-exec, so that children started meanwhile by other threads do not hold the
    // pipe open; dup2 gives the child a copy without the flag as its stdout.
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
      int err = errno;
      posix_spawn_file_actions_destroy(&actions);
      throw std::system_error(err, std::generic_category(), "cannot create a pipe");
    }
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  }
  // The child starts with no signal blocked, whatever this thread blocks (see
  // block_termination_signals()), so that stop() and kill() reach it.
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK);
  int failed = posix_spawnp(&pid_, args[0], &actions, &attributes, args.data(), environ);
  posix_spawnattr_destroy(&attributes);
  posix_spawn_file_actions_destroy(&actions);
  if (pipe_fds[1] >= 0) ::close(pipe_fds[1]);
  if (failed != 0) {
    pid_ = -1;
    if (pipe_fds[0] >= 0) ::close(pipe_fds[0]);
    throw std::system_error(failed, std::generic_category(), "cannot start " + argv[0]);
  }
  output_fd_ = pipe_fds[0];
}

child_process::~child_process() {
  if (pid_ > 0) kill();
  close_output();
}

child_process::child_process(child_process&& other) noexcept
    : pid_(other.pid_), output_fd_(other.output_fd_), buffered_(std::move(other.buffered_)) {
  other.pid_ = -1;
  other.output_fd_ = -1;
}

void child_process::close_output() {
  if (output_fd_ >= 0) ::close(output_fd_);
  output_fd_ = -1;
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

void child_process::suspend() {
  if (pid_ > 0) ::kill(pid_, SIGSTOP);
}

void child_process::resume() {
  if (pid_ > 0) ::kill(pid_, SIGCONT);
}

std::optional<std::string> child_process::read_line(std::chrono::milliseconds limit) {
  auto give_up = std::chrono::steady_clock::now() + limit;
  while (true) {
    if (auto end = buffered_.find('\n'); end != std::string::npos) {
      auto line = buffered_.substr(0, end);
      buffered_.erase(0, end + 1);
      return line;
    }
    if (output_fd_ < 0) {
      // The child closed its output: a last line without '\n' still counts.
      if (buffered_.empty()) return std::nullopt;
      return std::exchange(buffered_, {});
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        give_up - std::chrono::steady_clock::now());
    pollfd item{output_fd_, POLLIN, 0};
    int ready = ::poll(&item, 1, static_cast<int>(std::max<std::int64_t>(left.count(), 0)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) return std::nullopt;
    char chunk[4096];
    auto n = ready > 0 ? ::read(output_fd_, chunk, sizeof chunk) : -1;
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      close_output();
      continue;
    }
    buffered_.append(chunk, static_cast<std::size_t>(n));
  }
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

namespace {

sigset_t termination_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

}  // namespace

void block_termination_signals() {
  auto set = termination_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int wait_for_termination_signal() {
  auto set = termination_signals();
  int signal = 0;
  sigwait(&set, &signal);  // fails only for an invalid set
  return signal;
}

}  // namespace duplex_examples
