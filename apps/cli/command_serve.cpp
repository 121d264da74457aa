// serve: a peer that serves the built-in services, plus echo or exec, until SIGINT/SIGTERM or
// --exit-after. Its first line on stdout is the endpoint it bound (or connected to).
#include <pthread.h>
#include <signal.h>

#include <cerrno>
#include <csignal>
#include <ctime>
#include <iostream>
#include <memory>

#include "commands.hpp"
#include "serve_echo.hpp"
#include "serve_exec.hpp"
#include "session.hpp"

namespace duplex_cli {

namespace {

struct serve_command {
  explicit serve_command(CLI::App& app) : line(app) {}
  command_line line;
  std::string exit_after;
  CLI::App* echo = nullptr;
  CLI::App* exec = nullptr;
};

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

// Until a stop signal arrives or `limit` passes (std::nullopt: no limit).
void wait_for_stop(const sigset_t& signals, std::optional<milliseconds> limit) {
  if (!limit) {
    int received = 0;
    sigwait(&signals, &received);
    return;
  }
  auto deadline = clock::now() + *limit;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - clock::now());
    if (left.count() <= 0) return;
    timespec wait{static_cast<time_t>(left.count() / 1'000'000'000),
                  static_cast<long>(left.count() % 1'000'000'000)};
    if (sigtimedwait(&signals, nullptr, &wait) >= 0) return;
    if (errno != EINTR && errno != EAGAIN) return;
  }
}

duplex::error run_serve(serve_command& cmd) {
  auto args = cmd.line.resolve();
  if (!args) return args.error();
  std::vector<std::string> program;
  if (cmd.exec->parsed()) {
    program = cmd.exec->remaining();
    if (program.empty()) return {duplex::errc::invalid_argument, "exec needs a command to run"};
  }
  // Blocked before any thread starts, so that every thread inherits it and the signals wait
  // for sigwait below; a program that closes its stdin must not kill the server.
  auto signals = stop_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  session local(cmd.line.peer_id(), args->keys);
  if (cmd.echo->parsed())
    if (auto added = local.services().add(echo_service()); !added) return added.error();
  if (cmd.exec->parsed())
    if (auto added = local.services().add(exec_service(program)); !added) return added.error();
  auto endpoint = local.open(args->where);
  if (!endpoint) return endpoint.error();
  std::cout << *endpoint << std::endl;
  wait_for_stop(signals, cmd.exit_after.empty() ? std::nullopt : parse_duration(cmd.exit_after));
  return {};
}

}  // namespace

command add_serve(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "serve",
      "Serve the built-in services, plus echo or exec, until SIGINT/SIGTERM or --exit-after; "
      "the endpoint is the first line on stdout");
  auto cmd = std::make_shared<serve_command>(*sub);
  sub->add_option("--exit-after", cmd->exit_after, "Stop after this long: 500ms, 2s, 1m, 1h")
      ->type_name("DURATION")
      ->check(duration_check());
  cmd->echo = sub->add_subcommand("echo",
                                  "Also serve echo: echo/echo (unary), echo/stream (bidi), "
                                  "echo/collect (client_stream) and echo/spread "
                                  "(server_stream) return what they get, echo/headers the "
                                  "call's headers")
                  ->fallthrough();
  cmd->exec =
      sub->add_subcommand("exec",
                          "Also serve exec/run: runs CMD per request (one argument: by /bin/sh -c; "
                          "several: program and arguments), request JSON on stdin, stdout back. "
                          "Everything after exec is CMD: give serve's options before it")
          ->prefix_command();
  sub->require_subcommand(0, 1);
  return {sub, [cmd] { return run_serve(*cmd); }};
}

}  // namespace duplex_cli
