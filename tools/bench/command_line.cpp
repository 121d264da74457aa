#include "command_line.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace duplex_bench {

namespace {

[[noreturn]] void usage_error(const char* program, const std::string& message) {
  std::fprintf(stderr, "%s: %s\n", program, message.c_str());
  std::exit(2);
}

long to_long(const char* program, const std::string& flag, const std::string& text, long min,
             long max) {
  errno = 0;
  char* end = nullptr;
  long value = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0 || value < min || value > max)
    usage_error(program, flag + " needs a whole number from " + std::to_string(min) + " to " +
                             std::to_string(max) + ", not '" + text + "'");
  return value;
}

double to_seconds(const char* program, const std::string& flag, const std::string& text) {
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(value > 0))
    usage_error(program, flag + " needs a positive number of seconds, not '" + text + "'");
  return value;
}

}  // namespace

std::string settings::resolved_endpoint() const {
  if (!endpoint.empty()) return endpoint;
  return "tcp://" + host + ":" + std::to_string(port);
}

settings parse_settings(int argc, char** argv, const char* program, bool port_zero_ok) {
  constexpr long max_count = std::numeric_limits<int>::max();
  settings s;
  for (int i = 1; i < argc; i += 2) {
    std::string flag = argv[i];
    if (i + 1 >= argc) usage_error(program, flag + " needs a value");
    std::string value = argv[i + 1];
    if (flag == "--host")
      s.host = value;
    else if (flag == "--port")
      s.port = static_cast<int>(to_long(program, flag, value, 0, 65535));
    else if (flag == "--endpoint")
      s.endpoint = value;
    else if (flag == "--mode")
      s.mode = value;
    else if (flag == "--size")
      s.size = static_cast<std::size_t>(to_long(program, flag, value, 0, 4 << 20));
    else if (flag == "--n")
      s.n = to_long(program, flag, value, 1, max_count);
    else if (flag == "--inflight")
      s.inflight = static_cast<int>(to_long(program, flag, value, 1, 1 << 16));
    else if (flag == "--max-secs")
      s.max_secs = to_seconds(program, flag, value);
    else if (flag == "--api")
      s.api = value;
    else if (flag == "--max-channels")
      s.max_channels = static_cast<std::size_t>(to_long(program, flag, value, 1, max_count));
    else
      usage_error(program, "unknown flag " + flag);
  }
  if (s.endpoint.empty() && s.port == 0 && !port_zero_ok)
    usage_error(program, "--port or --endpoint required");
  return s;
}

}  // namespace duplex_bench
