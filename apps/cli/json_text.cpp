#include "json_text.hpp"

#include <cstdio>
#include <iostream>
#include <iterator>

namespace duplex_cli {

duplex::result<nlohmann::json> parse_json(const std::string& text, const std::string& what) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    return duplex::error{duplex::errc::invalid_argument, what + " is not valid JSON: " + e.what()};
  }
}

std::string dump_json(const nlohmann::json& value, bool pretty) {
  return value.dump(pretty ? 2 : -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void print_json(const nlohmann::json& value, bool pretty) {
  std::cout << dump_json(value, pretty) << '\n' << std::flush;
}

duplex::result<std::string> read_stdin() {
  std::string text{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
  if (std::cin.bad())
    return duplex::error{duplex::errc::invalid_argument, "cannot read the request from stdin"};
  return text;
}

nlohmann::json output_as_json(const std::string& output) {
  auto parsed = nlohmann::json::parse(output, nullptr, false);
  if (!parsed.is_discarded()) return parsed;
  auto end = output.find_last_not_of('\n');
  auto text = output.substr(0, end == std::string::npos ? 0 : end + 1);
  // Through dump and parse once, so that bytes that are not UTF-8 become U+FFFD here and not
  // a failure when the response is encoded as JSON.
  return nlohmann::json::parse(dump_json(nlohmann::json(text)));
}

}  // namespace duplex_cli
