// CURVE security: encryption and authentication of every tcp:// and ipc:// connection.
//
// A peer with a key pair is a CURVE server on its bound endpoints (clients must present a key
// from its allow-list) and a CURVE client on its connections (it must know each server's public
// key). Keys are Z85 text, 40 characters. inproc:// endpoints stay inside one process and are
// never encrypted.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "duplex/error.hpp"

namespace duplex {

struct curve_keypair {
  std::string public_key;
  std::string secret_key;

  // A fresh random pair.
  static curve_keypair generate();
  // Reads a pair in ZeroMQ's certificate format (as czmq's zcert and `duplex keygen` write it):
  // `path` holds the public key, `path + "_secret"` both keys.
  static result<curve_keypair> load(const std::string& path);
  // Writes `path` (public key, mode 0644) and `path + "_secret"` (both keys, mode 0600).
  result<void> save(const std::string& path) const;
};

// A public key given as Z85 text, or read from a certificate file (public or secret one).
result<std::string> load_public_key(const std::string& key_or_path);
// The public keys of every certificate in a directory (files ending in "_secret" are skipped),
// or of one file.
result<std::vector<std::string>> load_public_keys(const std::string& file_or_directory);

// Whether `key` is 40 characters of Z85 that decode to 32 bytes.
bool is_z85_key(const std::string& key);

struct security_options {
  // This peer's key pair. Set: CURVE on every bound endpoint and every connection.
  std::optional<curve_keypair> curve = std::nullopt;
  // Public keys of the peers allowed to connect to this peer's bound endpoints. Anyone else
  // is refused during the handshake, before a channel can reach a handler.
  std::vector<std::string> allowed_keys = {};
  // Accept any client that completes a CURVE handshake (encryption without an allow-list).
  bool allow_any_key = false;
  // The server key connect() uses when it is not given one.
  std::string server_key = {};

  result<void> validate() const;
};

struct connect_options {
  // The public key of the peer bound at the endpoint; empty: security_options::server_key.
  std::string server_key = {};
};

}  // namespace duplex
