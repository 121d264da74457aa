#include "duration.hpp"

#include <duplex/channel.hpp>

#include <cmath>
#include <cstdlib>
#include <utility>

namespace duplex_cli {

namespace {

// Longer is surely a typo; it also keeps the arithmetic far from overflow.
constexpr double longest_ms = 365.0 * 24 * 3600 * 1000;

std::optional<double> unit_ms(const std::string& unit) {
  if (unit == "ms") return 1.0;
  if (unit == "s") return 1000.0;
  if (unit == "m") return 60'000.0;
  if (unit == "h") return 3'600'000.0;
  return std::nullopt;
}

}  // namespace

std::optional<milliseconds> parse_duration(const std::string& text) {
  auto unit_start = text.find_first_not_of("0123456789.");
  if (unit_start == 0 || unit_start == std::string::npos) return std::nullopt;
  auto number = text.substr(0, unit_start);
  if (number.front() == '.' || number.back() == '.' || number.find('.') != number.rfind('.'))
    return std::nullopt;
  auto scale = unit_ms(text.substr(unit_start));
  if (!scale) return std::nullopt;
  double ms = std::strtod(number.c_str(), nullptr) * *scale;
  if (!std::isfinite(ms) || ms > longest_ms) return std::nullopt;
  auto rounded = static_cast<long long>(std::ceil(ms));
  if (rounded <= 0) return std::nullopt;
  return milliseconds{rounded};
}

std::string spell_duration(milliseconds d) {
  const auto ms = d.count();
  if (ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

CLI::Validator duration_check() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (parse_duration(text)) return {};
        return "'" + text + "' is not a duration: use a positive number with ms, s, m or h";
      },
      "", "duration");
}

time_budget::time_budget(std::optional<milliseconds> total) : start_(clock::now()), total_(total) {}

clock::time_point time_budget::connect_deadline() const {
  return start_ + total_.value_or(default_timeout);
}

duplex::result<milliseconds> time_budget::call_timeout() const {
  if (!total_) return duplex::forever;
  auto left = std::chrono::ceil<milliseconds>(start_ + *total_ - clock::now());
  if (left.count() <= 0)
    return duplex::error{duplex::errc::deadline_exceeded, "the --timeout passed"};
  return left;
}

}  // namespace duplex_cli
