// Typed payloads. Every codec converts between its wire form and msgpack, the canonical form:
// a user type is described once (MSGPACK_DEFINE_MAP, so fields travel as a map with their
// names) and msgpack and JSON then carry the same shape. A channel picks its codec with the
// `content-type` header; the registry is an object owned by the runtime, not a global.
#pragma once

#include <msgpack.hpp>

#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "duplex/bytes.hpp"
#include "duplex/error.hpp"

// A user type, e.g.:
//   struct point { int x; std::string label; MSGPACK_DEFINE_MAP(x, label) };  // no ';' after
//   ch.write_as(point{1, "a"});  auto p = ch.read_as<point>();

namespace duplex {

inline constexpr const char* content_type_header = "content-type";
inline constexpr const char* msgpack_content_type = "application/msgpack";
inline constexpr const char* json_content_type = "application/json";

class codec {
 public:
  virtual ~codec() = default;
  virtual std::string_view content_type() const = 0;
  // Canonical msgpack bytes -> this codec's wire bytes.
  virtual result<bytes> from_msgpack(const bytes& packed) const = 0;
  // This codec's wire bytes -> canonical msgpack bytes; invalid_argument when undecodable.
  virtual result<bytes> to_msgpack(const bytes& wire) const = 0;
};

class codec_registry {
 public:
  // msgpack (the default) and JSON.
  codec_registry();
  void add(std::shared_ptr<const codec> c);
  // nullptr when unknown.
  const codec* find(std::string_view content_type) const;
  // The codec a channel with these headers uses: its content-type, or msgpack.
  result<const codec*> for_headers(const metadata& headers) const;

 private:
  std::map<std::string, std::shared_ptr<const codec>, std::less<>> codecs_;
};

namespace detail {
// Unpacks canonical msgpack bytes with limits suited to application payloads.
result<msgpack::object_handle> unpack_payload(const bytes& packed);
// Whether `c` is the built-in msgpack codec, whose wire form is the canonical form: values
// then go straight between msgpack and the payload, without the codec's copies.
extern const codec* const builtin_msgpack_codec;
inline bool is_builtin_msgpack(const codec& c) noexcept {
  return &c == builtin_msgpack_codec;
}
// A bin value (a `bytes` payload) read straight from its header; nullopt when `packed` is
// anything else, which then goes through the general unpacker (and its errors).
std::optional<bytes> unpack_bin(const bytes& packed);
// The same for a payload the caller owns: drops the header in place; false (and `packed`
// untouched) when it is not one bin value.
bool unpack_bin_in_place(bytes& packed);

// A msgpack output stream that appends to a payload, so that packing needs no buffer of its own.
struct bytes_stream {
  bytes& out;
  void write(const char* data, std::size_t size) {
    if (size == 0) return;
    // resize + memcpy: GCC 12 at -O3 misreads insert() of a char* range as an overflow.
    const std::size_t used = out.size();
    out.resize(used + size);
    std::memcpy(out.data() + used, data, size);
  }
};
}  // namespace detail

template <class T>
result<bytes> encode_as(const codec& c, const T& value) {
  bytes packed;
  // One allocation for the common small value (msgpack writes a header and a body apart).
  if constexpr (std::is_same_v<T, bytes>)
    packed.reserve(value.size() + 5);
  else
    packed.reserve(32);
  detail::bytes_stream stream{packed};
  msgpack::pack(stream, value);
  if (detail::is_builtin_msgpack(c)) return packed;
  return c.from_msgpack(packed);
}

template <class T>
result<T> decode_as(const codec& c, const bytes& wire) {
  const bool canonical = detail::is_builtin_msgpack(c);
  if constexpr (std::is_same_v<T, bytes>) {
    if (canonical)
      if (auto payload = detail::unpack_bin(wire)) return std::move(*payload);
  }
  result<bytes> converted = bytes{};
  if (!canonical) {
    converted = c.to_msgpack(wire);
    if (!converted) return converted.error();
  }
  auto handle = detail::unpack_payload(canonical ? wire : *converted);
  if (!handle) return handle.error();
  try {
    return handle->get().template as<T>();
  } catch (const std::exception& e) {
    return error{errc::invalid_argument,
                 std::string("payload does not match the expected type: ") + e.what()};
  }
}

// The same for a payload the caller gives up: a `bytes` value is then taken without a copy.
template <class T>
result<T> decode_as(const codec& c, bytes&& wire) {
  if constexpr (std::is_same_v<T, bytes>) {
    if (detail::is_builtin_msgpack(c) && detail::unpack_bin_in_place(wire)) return std::move(wire);
  }
  return decode_as<T>(c, static_cast<const bytes&>(wire));
}

}  // namespace duplex
