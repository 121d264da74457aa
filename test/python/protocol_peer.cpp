// A Duplex server for the Python protocol test (test_protocol.py), built on the public API only.
//
//   protocol_peer <endpoint>
//
// Binds <endpoint> (e.g. tcp://127.0.0.1:0), prints the bound endpoint as one line on stdout and
// serves until stdin reaches EOF or SIGTERM/SIGINT arrives. Services:
//
//   echo         echoes every message, then the client's trailers as its own, then END
//   fail         reads one message, then ends its stream with ERROR unavailable(14) whose
//                message is that message's text
//   sink         counts the bytes of every message until END, then writes the count as decimal
//                text and ENDs
//   stream       reads one message "N" or "N SIZE", writes N messages (each SIZE bytes, default
//                16, starting with the decimal index) and ENDs
//   wait_cancel  blocks in read() until the channel fails; remembers whether it was `cancelled`
//   cancel_seen  writes "yes" if a wait_cancel channel saw `cancelled` (waits up to 3 s for it),
//                otherwise "no", then ENDs
//
// The peer's id is "protocol-peer", its max_payload 32 KiB and its channel window 64 KiB, so
// that a few messages exceed a window and CREDIT frames are exercised.
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>

#include "duplex/duplex.hpp"

namespace {

int signal_pipe[2] = {-1, -1};

extern "C" void on_signal(int) {
  const char byte = 's';
  // Nothing to do when the pipe is full: one byte is enough to wake the main thread.
  [[maybe_unused]] auto written = ::write(signal_pipe[1], &byte, 1);
}

// What the wait_cancel handlers observed, for cancel_seen.
struct cancel_record {
  std::mutex mutex;
  std::condition_variable changed;
  bool seen = false;

  void mark() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      seen = true;
    }
    changed.notify_all();
  }
  bool wait(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex);
    return changed.wait_for(lock, timeout, [this] { return seen; });
  }
};

void echo(duplex::channel ch) {
  for (;;) {
    auto next = ch.read();
    if (next.is_message()) {
      if (!ch.write(std::move(*next))) return;
      continue;
    }
    if (next.is_end()) {
      auto trailers = ch.meta().trailers;
      if (!trailers.empty()) ch.write_trailers(std::move(trailers));
      ch.close_write();
    }
    return;  // end handled, or an error: nothing more to do
  }
}

void fail(duplex::channel ch) {
  auto next = ch.read();
  if (!next.is_message()) return;
  ch.write_error(duplex::errc::unavailable, duplex::to_string(*next));
}

void sink(duplex::channel ch) {
  std::size_t total = 0;
  for (;;) {
    auto next = ch.read();
    if (next.is_message()) {
      total += next->size();
      continue;
    }
    if (next.is_end()) {
      ch.write(duplex::to_bytes(std::to_string(total)));
      ch.close_write();
    }
    return;
  }
}

void stream(duplex::channel ch) {
  auto request = ch.read();
  if (!request.is_message()) return;
  const auto text = duplex::to_string(*request);
  std::size_t count = 0;
  std::size_t size = 16;
  try {
    std::size_t used = 0;
    count = std::stoul(text, &used);
    if (used < text.size()) size = std::stoul(text.substr(used));
  } catch (const std::exception&) {
    ch.write_error(duplex::errc::invalid_argument, "expected \"N\" or \"N SIZE\", got: " + text);
    return;
  }
  for (std::size_t i = 0; i < count; ++i) {
    auto payload = std::to_string(i);
    payload.resize(std::max(size, payload.size()), '.');
    if (!ch.write(duplex::to_bytes(payload))) return;
  }
  ch.close_write();
  // Drain the client's stream so the channel closes cleanly on both sides.
  while (ch.read().is_message()) {
  }
}

void wait_cancel(duplex::channel ch, cancel_record& record) {
  for (;;) {
    auto next = ch.read();
    if (next.is_message()) continue;
    if (next.is_error() && next.error().code == duplex::errc::cancelled) record.mark();
    return;
  }
}

void cancel_seen(duplex::channel ch, cancel_record& record) {
  const bool seen = record.wait(std::chrono::seconds{3});
  ch.write(duplex::to_bytes(seen ? "yes" : "no"));
  ch.close_write();
  while (ch.read().is_message()) {
  }
}

// Waits for stdin EOF or a signal.
void wait_for_exit() {
  pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {signal_pipe[0], POLLIN, 0}};
  char buffer[256];
  for (;;) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    if (fds[0].revents != 0) {
      const auto n = ::read(STDIN_FILENO, buffer, sizeof buffer);
      if (n <= 0 && !(n < 0 && errno == EINTR)) return;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " <endpoint>\n";
    return 2;
  }
  if (::pipe(signal_pipe) != 0) {
    std::perror("pipe");
    return 1;
  }
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGTERM, &action, nullptr);
  ::sigaction(SIGINT, &action, nullptr);

  cancel_record cancels;
  duplex::runtime rt;
  duplex::peer_options options;
  options.peer_id = "protocol-peer";
  options.max_payload = 32u << 10;
  options.channel_window = 64u << 10;
  options.handler_threads = 16;
  options.linger = std::chrono::milliseconds{200};
  duplex::peer server(rt, options);

  server.handle("echo", echo);
  server.handle("fail", fail);
  server.handle("sink", sink);
  server.handle("stream", stream);
  server.handle("wait_cancel",
                [&cancels](duplex::channel ch) { wait_cancel(std::move(ch), cancels); });
  server.handle("cancel_seen",
                [&cancels](duplex::channel ch) { cancel_seen(std::move(ch), cancels); });

  auto bound = server.bind(argv[1]);
  if (!bound) {
    std::cerr << "bind " << argv[1] << ": " << bound.error().to_string() << "\n";
    return 1;
  }
  std::cout << *bound << std::endl;  // one line, flushed

  wait_for_exit();
  server.shutdown();
  return 0;
}
