#include "stdin_lines.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace duplex_cli {

namespace {
// How often a reader waiting for input checks whether to stop.
constexpr int stop_check_ms = 50;
}  // namespace

std::optional<std::string> stdin_lines::next() {
  for (;;) {
    if (stop_) return std::nullopt;
    if (auto newline = buffer_.find('\n'); newline != std::string::npos) {
      auto line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      return line;
    }
    if (eof_ || !fill()) {
      if (buffer_.empty() || stop_) return std::nullopt;
      return std::exchange(buffer_, {});
    }
  }
}

bool stdin_lines::fill() {
  while (!stop_) {
    pollfd input{STDIN_FILENO, POLLIN, 0};
    int ready = ::poll(&input, 1, stop_check_ms);
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    char chunk[65536];
    auto got = ::read(STDIN_FILENO, chunk, sizeof chunk);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (got <= 0) break;
    buffer_.append(chunk, static_cast<std::size_t>(got));
    return true;
  }
  eof_ = true;
  return false;
}

}  // namespace duplex_cli
