#include "key_options.hpp"

namespace duplex_cli {

namespace {

duplex::error usage(std::string message) {
  return {duplex::errc::invalid_argument, std::move(message)};
}

// A key that cannot be read is a usage error whatever the library calls it (not_found for a
// missing file), so that every bad key option exits alike.
duplex::error bad_option(const std::string& option, const duplex::error& why) {
  return usage(option + ": " + why.message);
}

// The options that need --key, and whether they fit the mode.
duplex::error check_combination(const key_arguments& given, bool bind) {
  const bool allows = !given.allowed.empty() || given.allow_any;
  if (given.key_file.empty()) {
    if (!given.server_key.empty()) return usage("--server-key needs --key (this side's key pair)");
    if (allows) return usage("--allow and --allow-any need --key (this side's key pair)");
    return {};
  }
  if (!given.allowed.empty() && given.allow_any) return usage("use either --allow or --allow-any");
  if (bind) {
    if (!given.server_key.empty())
      return usage("--server-key is for connecting; with --bind, --allow says who may connect");
    if (!allows)
      return usage("--bind with --key needs --allow or --allow-any (else every client is refused)");
  } else {
    if (allows)
      return usage("--allow and --allow-any are for --bind; connecting needs --server-key");
    if (given.server_key.empty())
      return usage("connecting with --key needs --server-key (the bound peer's public key)");
  }
  return {};
}

}  // namespace

void add_key_options(CLI::App& app, key_arguments& into) {
  const char* group = "CURVE security";
  app.add_option("--key", into.key_file,
                 "This side's key pair (FILE and FILE_secret, as duplex keygen writes them); "
                 "turns CURVE encryption and authentication on")
      ->type_name("FILE")
      ->group(group);
  app.add_option("--server-key", into.server_key,
                 "Connecting with --key: the bound peer's public key (Z85 text or key file)")
      ->type_name("KEY|FILE")
      ->group(group);
  app.add_option("--allow", into.allowed,
                 "Binding with --key: a client key that may connect (Z85 text, key file, or a "
                 "directory of them; repeatable)")
      ->type_name("KEY|FILE|DIR")
      ->allow_extra_args(false)
      ->group(group);
  app.add_flag("--allow-any", into.allow_any,
               "Binding with --key: any client that completes a CURVE handshake may connect")
      ->group(group);
}

duplex::result<key_settings> load_keys(const key_arguments& given, bool bind) {
  if (auto bad = check_combination(given, bind); !bad.ok()) return bad;
  key_settings out;
  if (given.key_file.empty()) return out;

  auto pair = duplex::curve_keypair::load(given.key_file);
  if (!pair) return bad_option("--key", pair.error());
  out.security.curve = std::move(*pair);
  out.security.allow_any_key = given.allow_any;
  for (auto& source : given.allowed) {
    auto keys = duplex::load_public_keys(source);
    if (!keys) return bad_option("--allow", keys.error());
    if (keys->empty()) return usage("--allow: no key files in '" + source + "'");
    out.security.allowed_keys.insert(out.security.allowed_keys.end(), keys->begin(), keys->end());
  }
  if (!given.server_key.empty()) {
    auto key = duplex::load_public_key(given.server_key);
    if (!key) return bad_option("--server-key", key.error());
    out.connect.server_key = std::move(*key);
  }
  if (auto valid = out.security.validate(); !valid) return bad_option("--key", valid.error());
  return out;
}

}  // namespace duplex_cli
