// CURVE key flags shared by the examples' programs, spelled as the duplex CLI spells them:
//   --key FILE             this program's key pair (FILE and FILE_secret, as `duplex keygen`
//                          writes them); turns CURVE encryption and authentication on
//   --server-key KEY|FILE  connecting: the bound peer's public key
//   --allow KEY|FILE|DIR   binding: a client key that may connect (repeatable)
//   --allow-any            binding: any client that completes a CURVE handshake
#pragma once

#include <duplex/options.hpp>
#include <duplex/security.hpp>

#include <string>
#include <vector>

namespace duplex_examples {

// For a program's --help.
inline constexpr const char* key_flags_help =
    "CURVE: --key FILE (this program's key pair), --server-key KEY|FILE (connecting), "
    "--allow KEY|FILE|DIR (binding, repeatable), --allow-any (binding)";

struct key_flags {
  std::string key;
  std::string server_key;
  std::vector<std::string> allow;
  bool allow_any = false;

  // Takes the flags (also as --flag=value) out of argv, so that the program parses the rest
  // as before; argc shrinks. Throws std::invalid_argument when one lacks its value.
  static key_flags take(int& argc, char** argv);

  // Loads the keys into options.security (nothing without --key) and returns what
  // peer::connect() takes. Throws duplex::exception (invalid_argument) for an unusable key.
  duplex::connect_options apply(duplex::peer_options& options) const;
};

}  // namespace duplex_examples
