// What every command shares on its command line: where the remote peer is (the positional
// ENDPOINT, --connect or --bind), the command's own positionals after it, CURVE keys, headers,
// --timeout, --peer-id and output formatting.
#pragma once

#include <CLI/CLI.hpp>
#include <duplex/bytes.hpp>
#include <duplex/error.hpp>

#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "duration.hpp"
#include "key_options.hpp"

namespace duplex_cli {

struct location {
  bool bind = false;  // false: connect
  std::string endpoint;
};

// A command's positionals, resolved: where to meet the remote peer, then the command's own
// values in the order they were declared (missing optional ones are absent), and the keys.
struct arguments {
  location where;
  std::vector<std::string> values;
  key_settings keys;
};

class command_line {
 public:
  // Adds ENDPOINT, --connect, --bind, --peer-id and the key options to `app`.
  explicit command_line(CLI::App& app);

  // A positional after ENDPOINT; declare in order.
  void add_positional(const std::string& name, const std::string& help, bool required);
  // -H, --timeout and --pretty: the options of commands that make calls.
  void add_call_options(const std::string& default_timeout);

  // After parsing. CLI11 fills positionals in order, so with --connect or --bind what landed in
  // ENDPOINT is the command's first value. Reads the key files. invalid_argument for a wrong
  // count, endpoint or key option.
  duplex::result<arguments> resolve() const;
  // -H values as headers; invalid_argument for a reserved or malformed one.
  duplex::result<duplex::metadata> headers() const;
  std::optional<milliseconds> timeout() const;
  const std::string& peer_id() const { return peer_id_; }
  bool pretty() const { return pretty_; }

 private:
  struct positional {
    std::string name;
    bool required;
    std::string value;
    CLI::Option* option = nullptr;
  };

  CLI::App& app_;
  std::deque<positional> positionals_;  // [0] is ENDPOINT; a deque keeps values in place
  std::string connect_;
  std::string bind_;
  std::string peer_id_;
  key_arguments keys_;
  std::vector<std::string> header_args_;
  std::string timeout_;
  bool pretty_ = false;
};

}  // namespace duplex_cli
