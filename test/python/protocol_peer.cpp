// A Duplex server for the Python protocol test (test_protocol.py), built on the public API only.
//
//   protocol_peer <endpoint> [--no-rpc]
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
// Unless --no-rpc is given (then other names are refused with CANCEL unimplemented), every other
// service name goes to an rpc::node (peer::handle_default), which serves the built-in services
// (duplex.reflect, duplex.health, duplex.ping) and these, typed as msgpack maps (or JSON by
// content-type):
//
//   calc/add     unary          {a, b} -> {sum}
//   calc/fail    unary          {code} -> status `code` (1..16) with the message FAIL_MESSAGE
//   count/up     server_stream  {n, fail_at?} -> {i} for i in 0..n-1, trailer count-sent: n;
//                               with fail_at = k: k messages, then status aborted (10)
//   slow/sleep   unary          {} -> {} once cancelled (deadline, CANCEL), at most after 10 s
//   slow/runs    unary          {} -> {started, finished, waited_ms, reason}: slow/sleep runs
//                               so far, waiting up to 3 s for running ones to finish; the last
//                               one's wait and cancel reason
//   notes/post   unary          {text} -> {}: remembers text (for fire-and-forget calls)
//   notes/list   unary          {} -> {texts}
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
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "duplex/duplex.hpp"
#include "duplex/rpc.hpp"

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

// ---- RPC services ----

using namespace std::chrono_literals;
using duplex::rpc::call_context;
using duplex::rpc::empty_message;

// Control characters, a BMP character and one outside the BMP: must survive byte-exact.
const char* const FAIL_MESSAGE = "\t\n\r \u263a \U0001F608";

struct add_request {
  std::int64_t a = 0;
  std::int64_t b = 0;
  MSGPACK_DEFINE_MAP(a, b)
};
struct add_reply {
  std::int64_t sum = 0;
  MSGPACK_DEFINE_MAP(sum)
};
struct fail_request {
  int code = 2;
  MSGPACK_DEFINE_MAP(code)
};
struct count_request {
  std::int64_t n = 0;
  std::int64_t fail_at = -1;
  MSGPACK_DEFINE_MAP(n, fail_at)
};
struct count_reply {
  std::int64_t i = 0;
  MSGPACK_DEFINE_MAP(i)
};
struct sleep_report {
  std::int64_t started = 0;
  std::int64_t finished = 0;
  std::int64_t waited_ms = -1;
  int reason = 0;
  MSGPACK_DEFINE_MAP(started, finished, waited_ms, reason)
};
struct note {
  std::string text;
  MSGPACK_DEFINE_MAP(text)
};
struct note_list {
  std::vector<std::string> texts;
  MSGPACK_DEFINE_MAP(texts)
};

// What slow/sleep handlers did, for slow/runs: lets a test see whether a handler ran and how
// long it waited for its deadline, from the server's side.
struct sleep_record {
  std::mutex mutex;
  std::condition_variable changed;
  sleep_report report;

  void start() {
    std::lock_guard<std::mutex> lock(mutex);
    ++report.started;
  }
  void finish(std::chrono::steady_clock::duration waited, duplex::errc reason) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      ++report.finished;
      report.waited_ms = std::chrono::duration_cast<std::chrono::milliseconds>(waited).count();
      report.reason = static_cast<int>(reason);
    }
    changed.notify_all();
  }
  sleep_report settled(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex);
    changed.wait_for(lock, timeout, [this] { return report.finished == report.started; });
    return report;
  }
};

struct note_board {
  std::mutex mutex;
  std::vector<std::string> texts;
};

duplex::rpc::service calc_service() {
  duplex::rpc::service calc("calc", "Integer arithmetic for the Python client", "1.0.0");
  calc.unary<add_request, add_reply>(
      {"add", "Adds two integers", "AddRequest", "AddReply"},
      [](const add_request& r, call_context&) -> duplex::result<add_reply> {
        return add_reply{r.a + r.b};
      });
  calc.unary<fail_request, empty_message>(
      {"fail", "Fails with the requested status code", "FailRequest", "Empty"},
      [](const fail_request& r, call_context&) -> duplex::result<empty_message> {
        if (r.code < 1 || r.code > 16)
          return duplex::error{duplex::errc::invalid_argument, "code must be 1..16"};
        return duplex::error{static_cast<duplex::errc>(r.code), FAIL_MESSAGE};
      });
  return calc;
}

duplex::rpc::service count_service() {
  duplex::rpc::service count("count", "Server-streaming counter");
  count.server_stream<count_request, count_reply>(
      {"up", "Streams {i} for i in 0..n-1", "CountRequest", "CountReply"},
      [](const count_request& r, duplex::rpc::writer<count_reply>& out,
         call_context& ctx) -> duplex::result<void> {
        for (std::int64_t i = 0; i < r.n; ++i) {
          if (i == r.fail_at)
            return duplex::error{duplex::errc::aborted, "stopped at " + std::to_string(i)};
          auto written = out.write(count_reply{i});
          if (!written) return written.error();
        }
        ctx.set_trailer("count-sent", std::to_string(r.n));
        return {};
      });
  return count;
}

duplex::rpc::service slow_service(sleep_record& record) {
  duplex::rpc::service slow("slow", "Waits for cancellation, for deadline tests");
  slow.unary<empty_message, empty_message>(
      {"sleep", "Returns once cancelled, at most after 10 s", "Empty", "Empty"},
      [&record](const empty_message&, call_context& ctx) -> duplex::result<empty_message> {
        record.start();
        const auto started = std::chrono::steady_clock::now();
        ctx.wait_cancelled(10s);
        record.finish(std::chrono::steady_clock::now() - started, ctx.cancel_reason().code);
        return empty_message{};
      });
  slow.unary<empty_message, sleep_report>(
      {"runs", "What slow/sleep handlers did so far", "Empty", "SleepReport"},
      [&record](const empty_message&, call_context&) -> duplex::result<sleep_report> {
        return record.settled(3s);
      });
  return slow;
}

duplex::rpc::service notes_service(note_board& board) {
  duplex::rpc::service notes("notes", "Remembers texts, for fire-and-forget calls");
  notes.unary<note, empty_message>(
      {"post", "Remembers a text", "Note", "Empty"},
      [&board](const note& n, call_context&) -> duplex::result<empty_message> {
        std::lock_guard<std::mutex> lock(board.mutex);
        board.texts.push_back(n.text);
        return empty_message{};
      });
  notes.unary<empty_message, note_list>(
      {"list", "The texts posted so far", "Empty", "NoteList"},
      [&board](const empty_message&, call_context&) -> duplex::result<note_list> {
        std::lock_guard<std::mutex> lock(board.mutex);
        return note_list{board.texts};
      });
  return notes;
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
  const bool with_rpc = !(argc == 3 && std::string_view(argv[2]) == "--no-rpc");
  if (argc != 2 && with_rpc) {
    std::cerr << "usage: " << argv[0] << " <endpoint> [--no-rpc]\n";
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

  // Declared after the peer so that the node goes first (the peer must outlive it).
  sleep_record sleeps;
  note_board notes;
  duplex::rpc::service_registry services;
  for (const auto& added :
       {services.add(calc_service()), services.add(count_service()),
        services.add(slow_service(sleeps)), services.add(notes_service(notes))}) {
    if (!added) {
      std::cerr << "registering the services: " << added.error() << "\n";
      return 1;
    }
  }
  std::optional<duplex::rpc::node> rpc;
  if (with_rpc) rpc.emplace(server, services);  // serves every service without its own handler

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
