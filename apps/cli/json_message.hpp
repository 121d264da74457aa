// A JSON document as a typed RPC message. It travels as the msgpack form of the same value,
// so a handler written for it serves msgpack callers and JSON callers alike.
#pragma once

#include <msgpack.hpp>
#include <nlohmann/json.hpp>

namespace duplex_cli {

struct json_message {
  nlohmann::json value;

  template <class Packer>
  void msgpack_pack(Packer& packer) const {
    auto packed = nlohmann::json::to_msgpack(value);
    auto handle = msgpack::unpack(reinterpret_cast<const char*>(packed.data()), packed.size());
    packer.pack(handle.get());
  }

  void msgpack_unpack(const msgpack::object& object) {
    msgpack::sbuffer packed;
    msgpack::pack(packed, object);
    value = nlohmann::json::from_msgpack(packed.data(), packed.data() + packed.size());
  }
};

}  // namespace duplex_cli
