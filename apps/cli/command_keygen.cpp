// keygen: writes a fresh CURVE key pair for --key, and prints its public key.
#include <duplex/security.hpp>

#include <filesystem>
#include <iostream>
#include <memory>
#include <system_error>

#include "commands.hpp"

namespace duplex_cli {

namespace {

namespace fs = std::filesystem;

struct keygen_command {
  std::string path;
  bool force = false;
};

bool present(const fs::path& path) {
  std::error_code ignored;
  return fs::symlink_status(path, ignored).type() != fs::file_type::not_found;
}

// Removes what --force replaces: the files are written anew, so that the secret one gets its
// owner-only mode whatever the old one had.
duplex::error make_room(const fs::path& file, bool force) {
  std::error_code err;
  if (fs::is_directory(file, err))
    return {duplex::errc::invalid_argument, "'" + file.string() + "' is a directory"};
  if (!present(file)) return {};
  if (!force)
    return {duplex::errc::already_exists, "'" + file.string() + "' exists (--force replaces it)"};
  if (!fs::remove(file, err) && err)
    return {duplex::errc::permission_denied,
            "cannot replace '" + file.string() + "': " + err.message()};
  return {};
}

duplex::error run_keygen(const keygen_command& cmd) {
  const fs::path public_file = cmd.path;
  const fs::path secret_file = cmd.path + "_secret";
  auto parent = public_file.parent_path();
  std::error_code err;
  if (!parent.empty() && !fs::is_directory(parent, err))
    return {duplex::errc::not_found, "no directory '" + parent.string() + "'"};
  for (auto& file : {public_file, secret_file})
    if (auto refused = make_room(file, cmd.force); !refused.ok()) return refused;

  auto keys = duplex::curve_keypair::generate();
  if (auto saved = keys.save(cmd.path); !saved) return saved.error();
  std::cout << keys.public_key << std::endl;
  return {};
}

}  // namespace

command add_keygen(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "keygen",
      "Write a new CURVE key pair for --key: PATH (public key) and PATH_secret (both keys, "
      "mode 0600); prints the public key");
  auto cmd = std::make_shared<keygen_command>();
  sub->add_option("PATH", cmd->path, "Where to write the public key (the secret one: PATH_secret)")
      ->required()
      ->type_name("");
  sub->add_flag("--force", cmd->force, "Replace existing files");
  return {sub, [cmd] { return run_keygen(*cmd); }};
}

}  // namespace duplex_cli
