// Lines from stdin, read without blocking forever: a reader can be told to stop while it
// waits for input (when the call ends before stdin does).
#pragma once

#include <atomic>
#include <optional>
#include <string>

namespace duplex_cli {

class stdin_lines {
 public:
  explicit stdin_lines(const std::atomic<bool>& stop) : stop_(stop) {}

  // The next line without its newline; std::nullopt at end of input or once told to stop. A
  // last line without a newline still counts.
  std::optional<std::string> next();

 private:
  bool fill();  // false at end of input or on stop

  const std::atomic<bool>& stop_;
  std::string buffer_;
  bool eof_ = false;
};

}  // namespace duplex_cli
