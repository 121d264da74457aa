#include "duplex/error.hpp"

#include <array>
#include <ostream>

namespace duplex {

namespace {
constexpr std::array<std::string_view, 17> code_names{
    "ok",        "cancelled",      "unknown",           "invalid_argument",   "deadline_exceeded",
    "not_found", "already_exists", "permission_denied", "resource_exhausted", "failed_precondition",
    "aborted",   "out_of_range",   "unimplemented",     "internal",           "unavailable",
    "data_loss", "unauthenticated"};
}  // namespace

std::string_view to_string(errc code) noexcept {
  auto index = static_cast<std::uint32_t>(code);
  if (index < code_names.size()) return code_names[index];
  return "errc(?)";
}

errc errc_from_wire(std::uint64_t number) noexcept {
  return number < code_names.size() ? static_cast<errc>(number) : errc::unknown;
}

std::string error::to_string() const {
  std::string out{duplex::to_string(code)};
  if (!message.empty()) out += ": " + message;
  return out;
}

std::ostream& operator<<(std::ostream& out, errc code) {
  return out << to_string(code);
}
std::ostream& operator<<(std::ostream& out, const error& err) {
  return out << err.to_string();
}

exception::exception(duplex::error err)
    : std::runtime_error(err.to_string()), err_(std::move(err)) {}

}  // namespace duplex
