#include "duplex/security.hpp"

#include <czmq.h>
#include <zmq.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>

namespace duplex {

namespace {

constexpr std::size_t z85_key_length = 40;

struct cert_deleter {
  void operator()(zcert_t* cert) const { zcert_destroy(&cert); }
};
using cert_ptr = std::unique_ptr<zcert_t, cert_deleter>;

error bad_key(const std::string& what) {
  return {errc::invalid_argument, what};
}

bool is_regular_file(const std::string& path) {
  std::error_code ignored;
  return std::filesystem::is_regular_file(path, ignored);
}

struct config_deleter {
  void operator()(zconfig_t* root) const { zconfig_destroy(&root); }
};

struct certificate_keys {
  std::string public_key;
  std::string secret_key;  // empty in a public certificate
};

// Reads a zcert certificate file (ZPL text). The text is read here and parsed from memory
// because czmq's zconfig_load leaks its file handle when the text is malformed.
std::optional<certificate_keys> read_certificate(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream text;
  if (!(text << file.rdbuf())) return std::nullopt;
  std::unique_ptr<zconfig_t, config_deleter> root(zconfig_str_load(text.str().c_str()));
  if (!root) return std::nullopt;
  return certificate_keys{zconfig_get(root.get(), "/curve/public-key", ""),
                          zconfig_get(root.get(), "/curve/secret-key", "")};
}

}  // namespace

bool is_z85_key(const std::string& key) {
  std::uint8_t decoded[32];
  return key.size() == z85_key_length && zmq_z85_decode(decoded, key.c_str()) != nullptr;
}

curve_keypair curve_keypair::generate() {
  char public_key[z85_key_length + 1];
  char secret_key[z85_key_length + 1];
  if (zmq_curve_keypair(public_key, secret_key) != 0)
    throw exception({errc::internal, "libzmq cannot generate CURVE keys (built without it?)"});
  return {public_key, secret_key};
}

result<curve_keypair> curve_keypair::load(const std::string& path) {
  if (!is_regular_file(path) && !is_regular_file(path + "_secret"))
    return error{errc::not_found, "no key file '" + path + "'"};
  // Like zcert_load: the secret certificate "<path>_secret" holds both keys.
  auto cert = read_certificate(is_regular_file(path + "_secret") ? path + "_secret" : path);
  if (!cert || !is_z85_key(cert->public_key))
    return bad_key("'" + path + "' is not a CURVE certificate");
  curve_keypair keys{cert->public_key, cert->secret_key};
  if (keys.secret_key.empty())
    return bad_key("'" + path + "' holds no secret key (expected '" + path + "_secret')");
  if (auto ok = security_options{keys}.validate(); !ok)
    return bad_key("'" + path + "': " + ok.error().message);
  return keys;
}

result<void> curve_keypair::save(const std::string& path) const {
  std::uint8_t public_bytes[32];
  std::uint8_t secret_bytes[32];
  if (!is_z85_key(public_key) || !is_z85_key(secret_key))
    return bad_key("a key pair to save must be two Z85 keys of 40 characters");
  zmq_z85_decode(public_bytes, public_key.c_str());
  zmq_z85_decode(secret_bytes, secret_key.c_str());
  cert_ptr cert(zcert_new_from(public_bytes, secret_bytes));
  // zcert_save writes the secret file with owner-only permissions.
  if (!cert || zcert_save(cert.get(), path.c_str()) != 0)
    return error{errc::permission_denied, "cannot write '" + path + "' and '" + path + "_secret'"};
  return {};
}

result<std::string> load_public_key(const std::string& key_or_path) {
  if (is_z85_key(key_or_path) && !is_regular_file(key_or_path)) return key_or_path;
  if (!is_regular_file(key_or_path))
    return error{errc::not_found,
                 "'" + key_or_path + "' is neither a Z85 key of 40 characters nor a key file"};
  auto cert = read_certificate(key_or_path);
  std::string key = cert ? cert->public_key : "";
  if (!is_z85_key(key)) return bad_key("'" + key_or_path + "' holds no CURVE public key");
  return key;
}

result<std::vector<std::string>> load_public_keys(const std::string& file_or_directory) {
  std::error_code err;
  if (!std::filesystem::is_directory(file_or_directory, err)) {
    auto key = load_public_key(file_or_directory);
    if (!key) return key.error();
    return std::vector<std::string>{*key};
  }
  std::vector<std::string> keys;
  for (auto& entry : std::filesystem::directory_iterator(file_or_directory, err)) {
    auto name = entry.path().filename().string();
    if (!entry.is_regular_file() || name.empty() || name[0] == '.') continue;
    if (name.size() > 7 && name.compare(name.size() - 7, 7, "_secret") == 0) continue;
    auto key = load_public_key(entry.path().string());
    if (!key) return key.error();
    keys.push_back(*key);
  }
  if (err)
    return error{errc::not_found, "cannot read '" + file_or_directory + "': " + err.message()};
  std::sort(keys.begin(), keys.end());
  return keys;
}

result<void> security_options::validate() const {
  if (curve) {
    if (!is_z85_key(curve->public_key))
      return bad_key("the CURVE public key must be 40 characters of Z85");
    if (!is_z85_key(curve->secret_key))
      return bad_key("the CURVE secret key must be 40 characters of Z85");
    char derived[z85_key_length + 1];
    if (zmq_curve_public(derived, curve->secret_key.c_str()) != 0 || curve->public_key != derived)
      return bad_key("the CURVE secret key does not belong to the public key");
  }
  for (auto& key : allowed_keys)
    if (!is_z85_key(key)) return bad_key("allowed key '" + key + "' is not a Z85 key");
  if (!server_key.empty() && !is_z85_key(server_key))
    return bad_key("server_key must be 40 characters of Z85");
  if (!curve && (!allowed_keys.empty() || allow_any_key))
    return bad_key("allowed_keys and allow_any_key need a CURVE key pair (security.curve)");
  return {};
}

}  // namespace duplex
