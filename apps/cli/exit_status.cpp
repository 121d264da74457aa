#include "exit_status.hpp"

#include <cstdint>
#include <cstdio>
#include <iostream>

namespace duplex_cli {

namespace {
constexpr std::uint32_t last_code = static_cast<std::uint32_t>(duplex::errc::unauthenticated);
}

int exit_status(duplex::errc code) {
  if (code == duplex::errc::ok) return 0;
  return 1 + static_cast<int>(code);
}

int report(const duplex::error& failure) {
  if (failure.ok()) return 0;
  std::fflush(stdout);  // what was printed before the failure comes first
  std::cerr << duplex::to_string(failure.code) << ": " << failure.message << std::endl;
  return exit_status(failure.code);
}

std::string exit_status_table() {
  std::string table =
      "Exit status: 0 on success, otherwise 1 + the Duplex status code of the failure, named on\n"
      "stderr as '<code name>: <message>'. Usage errors are invalid_argument (4). Exit status 1\n"
      "is never used.\n"
      "  exit  code  name\n";
  for (std::uint32_t number = 1; number <= last_code; ++number) {
    auto code = static_cast<duplex::errc>(number);
    char line[64];
    std::snprintf(line, sizeof line, "  %4d  %4u  %s\n", exit_status(code), number,
                  std::string(duplex::to_string(code)).c_str());
    table += line;
  }
  return table;
}

}  // namespace duplex_cli
