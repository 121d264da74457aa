#include "rss.hpp"

#include <fstream>
#include <sstream>
#include <string>

namespace duplex_bench {

std::uint64_t resident_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) != 0) continue;
    std::istringstream fields(line.substr(6));
    std::uint64_t kib = 0;
    fields >> kib;  // "VmRSS:     1234 kB"
    return kib * 1024;
  }
  return 0;
}

}  // namespace duplex_bench
