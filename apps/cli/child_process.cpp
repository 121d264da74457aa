#include "child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

extern char** environ;

namespace duplex_cli {

namespace {

// How often a running program is checked for exit and the caller for stop().
constexpr int check_interval_ms = 20;

duplex::error too_much_output(std::size_t max_output) {
  return {duplex::errc::resource_exhausted,
          "the command printed more than " + std::to_string(max_output) + " bytes"};
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// A pipe whose ends close on exec (so other children never inherit them) until dup2'ed.
struct pipe_ends {
  int read = -1;
  int write = -1;

  bool open() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return false;
    read = fds[0];
    write = fds[1];
    return true;
  }
  void close() {
    close_fd(read);
    close_fd(write);
  }
};

// In its own process group (so that stop kills everything it started), with default signal
// handling: this server blocks SIGINT/SIGTERM and ignores SIGPIPE, the program should not.
duplex::result<pid_t> spawn(const std::vector<std::string>& argv, int in, int out, int err) {
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  posix_spawn_file_actions_adddup2(&files, in, STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&files, out, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&files, err, STDERR_FILENO);

  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attributes, 0);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attributes, &none);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&defaults, sig);
  posix_spawnattr_setsigdefault(&attributes, &defaults);

  std::vector<char*> args;
  for (auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int spawned = ::posix_spawnp(&pid, args[0], &files, &attributes, args.data(), environ);
  posix_spawn_file_actions_destroy(&files);
  posix_spawnattr_destroy(&attributes);
  if (spawned != 0)
    return duplex::error{duplex::errc::unknown,
                         "cannot run '" + argv[0] + "': " + std::strerror(spawned)};
  return pid;
}

// This side of the program's three pipes: feeds its stdin, collects stdout and stderr.
// Owns the descriptors.
class pipes {
 public:
  pipes(int in, int out, int err, const std::string& input, std::size_t max_output)
      : in_(in), out_(out), err_(err), input_(input), max_output_(max_output) {
    for (int fd : {in_, out_, err_}) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    if (input_.empty()) close_fd(in_);
  }
  ~pipes() {
    for (int* fd : {&in_, &out_, &err_}) close_fd(*fd);
  }
  pipes(const pipes&) = delete;
  pipes& operator=(const pipes&) = delete;

  enum class progress { idle, moved, overflowed };

  // One round: waits up to `wait_ms` and moves what is ready.
  progress pump(int wait_ms) {
    pollfd fds[3];
    nfds_t count = 0;
    for (int fd : {in_, out_, err_})
      if (fd >= 0) fds[count++] = {fd, static_cast<short>(fd == in_ ? POLLOUT : POLLIN), 0};
    if (count == 0 || ::poll(fds, count, wait_ms) <= 0) return progress::idle;
    for (nfds_t i = 0; i < count; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == in_)
        feed();
      else if (fds[i].fd == out_)
        drain(out_, collected.out, max_output_);
      else
        drain(err_, collected.err, max_error_bytes);
    }
    return overflowed_ ? progress::overflowed : progress::moved;
  }

  process_outcome collected;

 private:
  void feed() {
    auto wrote = ::write(in_, input_.data() + written_, input_.size() - written_);
    if (wrote > 0) written_ += static_cast<std::size_t>(wrote);
    // Done, or the program closed its stdin (EPIPE): it did not want the rest.
    if (written_ == input_.size() || (wrote < 0 && errno != EAGAIN && errno != EINTR))
      close_fd(in_);
  }
  void drain(int& fd, std::string& into, std::size_t limit) {
    char chunk[65536];
    auto got = ::read(fd, chunk, sizeof chunk);
    if (got < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (got <= 0) return close_fd(fd);
    auto room = limit > into.size() ? limit - into.size() : 0;
    if (static_cast<std::size_t>(got) > room && &into == &collected.out) overflowed_ = true;
    into.append(chunk, std::min(room, static_cast<std::size_t>(got)));
  }

  int in_, out_, err_;
  const std::string& input_;
  std::size_t written_ = 0;
  std::size_t max_output_;
  bool overflowed_ = false;
};

// Moves data until the program exits (its wait status) or must be stopped (then it is killed
// and reaped).
duplex::result<int> supervise(pid_t pid, pipes& io, const std::function<bool()>& stop,
                              std::size_t max_output) {
  duplex::error failure;
  int status = 0;
  for (;;) {
    if (stop()) {
      failure = {duplex::errc::cancelled, "the call ended before the command"};
      break;
    }
    if (io.pump(check_interval_ms) == pipes::progress::overflowed) {
      failure = too_much_output(max_output);
      break;
    }
    if (::waitpid(pid, &status, WNOHANG) != pid) continue;
    // What it wrote before exiting is in the pipes; output of programs it left running is
    // not waited for.
    auto last = pipes::progress::moved;
    while (last == pipes::progress::moved) last = io.pump(0);
    if (last == pipes::progress::overflowed) return too_much_output(max_output);
    return status;
  }
  ::kill(-pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  return failure;
}

}  // namespace

duplex::result<process_outcome> run_process(const std::vector<std::string>& argv,
                                            const std::string& input,
                                            const std::function<bool()>& stop,
                                            std::size_t max_output) {
  if (argv.empty()) return duplex::error{duplex::errc::invalid_argument, "no command to run"};
  pipe_ends in, out, err;
  if (!in.open() || !out.open() || !err.open()) {
    auto reason = std::string("cannot create pipes: ") + std::strerror(errno);
    for (auto* p : {&in, &out, &err}) p->close();
    return duplex::error{duplex::errc::resource_exhausted, std::move(reason)};
  }
  auto pid = spawn(argv, in.read, out.write, err.write);
  close_fd(in.read);
  close_fd(out.write);
  close_fd(err.write);
  pipes io(in.write, out.read, err.read, input, max_output);
  if (!pid) return pid.error();

  auto status = supervise(*pid, io, stop, max_output);
  if (!status) return status.error();
  auto outcome = std::move(io.collected);
  if (WIFSIGNALED(*status))
    outcome.signal = WTERMSIG(*status);
  else
    outcome.exit_code = WEXITSTATUS(*status);
  return outcome;
}

}  // namespace duplex_cli
