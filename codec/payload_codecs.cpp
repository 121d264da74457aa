#include <nlohmann/json.hpp>

#include "duplex/codec.hpp"

namespace duplex {

namespace {

class msgpack_codec final : public codec {
 public:
  std::string_view content_type() const override { return msgpack_content_type; }
  result<bytes> from_msgpack(const bytes& packed) const override { return packed; }
  result<bytes> to_msgpack(const bytes& wire) const override {
    if (auto handle = detail::unpack_payload(wire); !handle) return handle.error();
    return wire;
  }
};

class json_codec final : public codec {
 public:
  std::string_view content_type() const override { return json_content_type; }
  result<bytes> from_msgpack(const bytes& packed) const override {
    try {
      auto text = nlohmann::json::from_msgpack(packed).dump();
      return to_bytes(text);
    } catch (const std::exception& e) {
      return error{errc::invalid_argument, std::string("cannot encode as JSON: ") + e.what()};
    }
  }
  result<bytes> to_msgpack(const bytes& wire) const override {
    try {
      auto doc = nlohmann::json::parse(wire.begin(), wire.end());
      return nlohmann::json::to_msgpack(doc);
    } catch (const std::exception& e) {
      return error{errc::invalid_argument, std::string("payload is not valid JSON: ") + e.what()};
    }
  }
};

// One instance for every registry, so that recognising it is comparing an address.
const msgpack_codec the_msgpack_codec;

}  // namespace

namespace detail {
const codec* const builtin_msgpack_codec = &the_msgpack_codec;

namespace {
// The length of a bin value's header (marker and length) when `packed` is exactly one bin
// value; 0 otherwise.
std::size_t bin_header_size(const bytes& packed) {
  // bin 8 / 16 / 32: a marker, a big-endian length of 1, 2 or 4 bytes, then the bytes.
  if (packed.empty()) return 0;
  std::size_t length_bytes = 0;
  switch (packed[0]) {
    case 0xc4:
      length_bytes = 1;
      break;
    case 0xc5:
      length_bytes = 2;
      break;
    case 0xc6:
      length_bytes = 4;
      break;
    default:
      return 0;
  }
  if (packed.size() < 1 + length_bytes) return 0;
  std::size_t length = 0;
  for (std::size_t i = 1; i <= length_bytes; ++i) length = (length << 8) | packed[i];
  if (packed.size() != 1 + length_bytes + length) return 0;  // the unpacker says why
  return 1 + length_bytes;
}
}  // namespace

std::optional<bytes> unpack_bin(const bytes& packed) {
  auto header = bin_header_size(packed);
  if (header == 0) return std::nullopt;
  return bytes(packed.begin() + static_cast<std::ptrdiff_t>(header), packed.end());
}

bool unpack_bin_in_place(bytes& packed) {
  auto header = bin_header_size(packed);
  if (header == 0) return false;
  packed.erase(packed.begin(), packed.begin() + static_cast<std::ptrdiff_t>(header));
  return true;
}

result<msgpack::object_handle> unpack_payload(const bytes& packed) {
  if (packed.empty()) return error{errc::invalid_argument, "empty payload is not msgpack"};
  // Limits keep hostile lengths from allocating more than the payload could hold.
  const std::size_t n = packed.size();
  const msgpack::unpack_limit limit(n, n, n, n, n, 64);
  try {
    std::size_t offset = 0;
    auto handle = msgpack::unpack(reinterpret_cast<const char*>(packed.data()), n, offset, nullptr,
                                  nullptr, limit);
    if (offset != n) return error{errc::invalid_argument, "trailing bytes after msgpack value"};
    return handle;
  } catch (const std::exception& e) {
    return error{errc::invalid_argument, std::string("payload is not valid msgpack: ") + e.what()};
  }
}
}  // namespace detail

codec_registry::codec_registry() {
  // Not owned: the shared instance lives as long as the program.
  add(std::shared_ptr<const codec>(std::shared_ptr<const codec>{}, detail::builtin_msgpack_codec));
  add(std::make_shared<json_codec>());
}

void codec_registry::add(std::shared_ptr<const codec> c) {
  std::string name(c->content_type());
  codecs_[name] = std::move(c);
}

const codec* codec_registry::find(std::string_view content_type) const {
  auto it = codecs_.find(content_type);
  return it == codecs_.end() ? nullptr : it->second.get();
}

result<const codec*> codec_registry::for_headers(const metadata& headers) const {
  auto it = headers.find(content_type_header);
  if (it == headers.end()) return find(msgpack_content_type);
  if (auto* c = find(it->second)) return c;
  return error{errc::invalid_argument, "unsupported content-type '" + it->second + "'"};
}

}  // namespace duplex
