// CURVE on the command line: --key, --server-key, --allow and --allow-any, as every networked
// command takes them, and what they become for the peer (see duplex/security.hpp).
#pragma once

#include <CLI/CLI.hpp>
#include <duplex/error.hpp>
#include <duplex/security.hpp>

#include <string>
#include <vector>

namespace duplex_cli {

// The options as given.
struct key_arguments {
  std::string key_file;              // --key: this side's key pair
  std::string server_key;            // --server-key: a Z85 key or a key file
  std::vector<std::string> allowed;  // --allow: Z85 keys, key files or directories
  bool allow_any = false;            // --allow-any
};

// The options loaded: peer_options::security and what peer::connect() takes. All empty
// without --key, which leaves CURVE off.
struct key_settings {
  duplex::security_options security;
  duplex::connect_options connect;
};

void add_key_options(CLI::App& app, key_arguments& into);

// Reads the key files. invalid_argument, naming the option, for a file or key that cannot be
// used and for options that do not fit `bind` (--server-key connects, --allow binds) or lack
// --key.
duplex::result<key_settings> load_keys(const key_arguments& given, bool bind);

}  // namespace duplex_cli
