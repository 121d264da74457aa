#include "command_line.hpp"

namespace duplex_cli {

namespace {

duplex::error usage(std::string message) {
  return {duplex::errc::invalid_argument, std::move(message)};
}

bool reserved_header(const std::string& key) {
  return key.rfind("duplex-", 0) == 0 || key == "content-type";
}

}  // namespace

command_line::command_line(CLI::App& app) : app_(app) {
  add_positional("ENDPOINT",
                 "The peer to connect to (tcp://host:port, ipc://path); leave out with --bind or "
                 "--connect",
                 false);
  app_.add_option("--connect", connect_, "Connect to this endpoint (same as ENDPOINT)")
      ->type_name("ENDPOINT");
  app_.add_option("--bind", bind_,
                  "Bind this endpoint for the remote peer to connect to (tcp port 0: a free "
                  "port; the endpoint bound is printed)")
      ->type_name("ENDPOINT");
  app_.add_option("--peer-id", peer_id_, "This peer's id (default: random)")->type_name("ID");
  add_key_options(app_, keys_);
}

void command_line::add_positional(const std::string& name, const std::string& help, bool required) {
  auto& slot = positionals_.emplace_back(positional{name, required, {}, nullptr});
  slot.option = app_.add_option(name, slot.value, help)->type_name("");
}

void command_line::add_call_options(const std::string& default_timeout) {
  app_.add_option("-H,--header", header_args_, "A call header as key=value (repeatable)")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
  app_.add_option("--timeout", timeout_,
                  "Deadline of the whole command, connecting included: 500ms, 2s, 1m, 1h "
                  "(default: " +
                      default_timeout + ")")
      ->type_name("DURATION")
      ->check(duration_check());
  app_.add_flag("--pretty", pretty_, "Indent JSON output (default: one document per line)");
}

duplex::result<arguments> command_line::resolve() const {
  std::vector<std::string> given;
  for (auto& p : positionals_)
    if (p.option->count() > 0) given.push_back(p.value);

  arguments out;
  if (!connect_.empty() && !bind_.empty()) return usage("use either --connect or --bind");
  if (!connect_.empty() || !bind_.empty()) {
    out.where = location{!bind_.empty(), bind_.empty() ? connect_ : bind_};
  } else {
    if (given.empty()) return usage("ENDPOINT is missing (or use --bind or --connect)");
    out.where = location{false, given.front()};
    given.erase(given.begin());
  }
  if (out.where.endpoint.empty()) return usage("the endpoint is empty");

  const std::size_t own = positionals_.size() - 1;
  if (given.size() > own) return usage("unexpected argument '" + given.back() + "'");
  for (std::size_t i = given.size(); i < own; ++i)
    if (positionals_[i + 1].required) return usage(positionals_[i + 1].name + " is missing");
  out.values = std::move(given);
  auto keys = load_keys(keys_, out.where.bind);
  if (!keys) return keys.error();
  out.keys = std::move(*keys);
  return out;
}

duplex::result<duplex::metadata> command_line::headers() const {
  duplex::metadata out;
  for (auto& arg : header_args_) {
    auto equals = arg.find('=');
    if (equals == std::string::npos || equals == 0)
      return usage("header '" + arg + "' is not key=value");
    auto key = arg.substr(0, equals);
    if (reserved_header(key))
      return usage("header '" + key + "' is reserved (the CLI sets content-type and duplex-*)");
    out[key] = arg.substr(equals + 1);
  }
  return out;
}

std::optional<milliseconds> command_line::timeout() const {
  if (timeout_.empty()) return std::nullopt;
  return parse_duration(timeout_);
}

}  // namespace duplex_cli
