#include "key_flags.hpp"

#include <stdexcept>

namespace duplex_examples {

namespace {

[[noreturn]] void unusable(const std::string& flag, const std::string& why) {
  throw duplex::exception({duplex::errc::invalid_argument, flag + ": " + why});
}

template <typename T>
T loaded(duplex::result<T> value, const std::string& flag) {
  if (!value) unusable(flag, value.error().message);
  return std::move(*value);
}

}  // namespace

key_flags key_flags::take(int& argc, char** argv) {
  key_flags flags;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto equals = arg.find('=');
    auto name = arg.substr(0, equals);
    std::string* single = name == "--key"          ? &flags.key
                          : name == "--server-key" ? &flags.server_key
                                                   : nullptr;
    if (arg == "--allow-any") {
      flags.allow_any = true;
    } else if (single || name == "--allow") {
      std::string value;
      if (equals != std::string::npos)
        value = arg.substr(equals + 1);
      else if (i + 1 < argc)
        value = argv[++i];
      else
        throw std::invalid_argument(name + " needs a value");
      if (single)
        *single = value;
      else
        flags.allow.push_back(value);
    } else {
      argv[kept++] = argv[i];
    }
  }
  argv[kept] = nullptr;
  argc = kept;
  return flags;
}

duplex::connect_options key_flags::apply(duplex::peer_options& options) const {
  duplex::connect_options connect;
  if (key.empty()) {
    if (!server_key.empty() || !allow.empty() || allow_any)
      unusable("--server-key, --allow, --allow-any", "need --key (this program's key pair)");
    return connect;
  }
  options.security.curve = loaded(duplex::curve_keypair::load(key), "--key " + key);
  options.security.allow_any_key = allow_any;
  for (auto& source : allow) {
    auto keys = loaded(duplex::load_public_keys(source), "--allow " + source);
    options.security.allowed_keys.insert(options.security.allowed_keys.end(), keys.begin(),
                                         keys.end());
  }
  if (!server_key.empty())
    connect.server_key = loaded(duplex::load_public_key(server_key), "--server-key " + server_key);
  return connect;
}

}  // namespace duplex_examples
