#include "codec/frame.hpp"

#include <algorithm>

#include <string_view>

namespace duplex::wire {

namespace {

// Encodes straight into the std::string the transport takes over: no intermediate buffer.
struct string_sink {
  std::string& out;
  void write(const char* data, std::size_t size) { out.append(data, size); }
};
using packer = msgpack::packer<string_sink>;

void pack_head(packer& pk, std::uint32_t length, frame_kind kind, std::uint64_t channel) {
  pk.pack_array(length);
  pk.pack_uint8(static_cast<std::uint8_t>(kind));
  pk.pack_uint64(channel);
}

void pack_string(packer& pk, std::string_view text) {
  pk.pack_str(static_cast<std::uint32_t>(text.size()));
  pk.pack_str_body(text.data(), static_cast<std::uint32_t>(text.size()));
}

void pack_metadata(packer& pk, const metadata& meta) {
  pk.pack_map(static_cast<std::uint32_t>(meta.size()));
  for (const auto& [key, value] : meta) {
    pack_string(pk, key);
    pk.pack_bin(static_cast<std::uint32_t>(value.size()));
    pk.pack_bin_body(value.data(), static_cast<std::uint32_t>(value.size()));
  }
}

// Thrown inside the decoder only; turned into a connection error by decode_batch.
struct malformed {
  const char* what;
};

std::uint64_t read_uint(const msgpack::object& o, const char* field) {
  if (o.type != msgpack::type::POSITIVE_INTEGER) throw malformed{field};
  return o.via.u64;
}

std::uint32_t read_uint32(const msgpack::object& o, const char* field) {
  auto value = read_uint(o, field);
  if (value > UINT32_MAX) throw malformed{field};
  return static_cast<std::uint32_t>(value);
}

std::string read_string(const msgpack::object& o, const char* field) {
  if (o.type != msgpack::type::STR) throw malformed{field};
  return std::string(o.via.str.ptr, o.via.str.size);
}

std::string read_blob(const msgpack::object& o, const char* field) {
  if (o.type == msgpack::type::BIN) return std::string(o.via.bin.ptr, o.via.bin.size);
  if (o.type == msgpack::type::STR) return std::string(o.via.str.ptr, o.via.str.size);
  throw malformed{field};
}

metadata read_metadata(const msgpack::object& o, const char* field) {
  if (o.type != msgpack::type::MAP) throw malformed{field};
  metadata out;
  for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
    const auto& kv = o.via.map.ptr[i];
    out.insert_or_assign(read_string(kv.key, field), read_blob(kv.val, field));
  }
  return out;
}

// The number of array elements each kind needs; extra trailing elements are ignored.
std::uint32_t required_fields(frame_kind kind) {
  switch (kind) {
    case frame_kind::hello:
      return 8;
    case frame_kind::open:
      return 5;
    case frame_kind::data:
    case frame_kind::trailers:
    case frame_kind::credit:
    case frame_kind::ping:
    case frame_kind::pong:
      return 3;
    case frame_kind::end:
      return 2;
    case frame_kind::error:
    case frame_kind::cancel:
    case frame_kind::bye:
      return 4;
  }
  return 2;
}

bool known_kind(std::uint64_t kind) {
  return kind >= static_cast<std::uint64_t>(frame_kind::hello) &&
         kind <= static_cast<std::uint64_t>(frame_kind::bye);
}

// Decodes one frame array; returns false for a frame of unknown kind.
bool decode_frame(const msgpack::object& o, frame& f) {
  if (o.type != msgpack::type::ARRAY || o.via.array.size < 2) throw malformed{"frame"};
  const msgpack::object* field = o.via.array.ptr;
  auto kind = read_uint(field[0], "kind");
  f.channel = read_uint(field[1], "channel");  // checked for unknown kinds too
  if (!known_kind(kind)) return false;
  f.kind = static_cast<frame_kind>(kind);
  if (o.via.array.size < required_fields(f.kind)) throw malformed{"field count"};
  switch (f.kind) {
    case frame_kind::hello:
      f.hello->version_major = read_uint32(field[2], "version_major");
      f.hello->version_minor = read_uint32(field[3], "version_minor");
      f.hello->peer_id = read_string(field[4], "peer_id");
      f.hello->session_id = read_string(field[5], "session_id");
      f.hello->window = read_uint(field[6], "window");
      f.hello->max_payload = read_uint(field[7], "max_payload");
      if (o.via.array.size > 8)
        f.hello->connection_window = read_uint(field[8], "connection_window");
      break;
    case frame_kind::open:
      f.parent = read_uint(field[2], "parent");
      f.service = read_string(field[3], "service");
      f.headers = read_metadata(field[4], "headers");
      break;
    case frame_kind::data:
      if (field[2].type != msgpack::type::BIN) throw malformed{"payload"};
      f.payload.assign(field[2].via.bin.ptr, field[2].via.bin.ptr + field[2].via.bin.size);
      break;
    case frame_kind::end:
      break;
    case frame_kind::error:
    case frame_kind::cancel:
    case frame_kind::bye:
      f.status.code = errc_from_wire(read_uint(field[2], "code"));
      f.status.message = read_string(field[3], "message");
      break;
    case frame_kind::trailers:
      f.headers = read_metadata(field[2], "trailers");
      break;
    case frame_kind::credit:
    case frame_kind::ping:
    case frame_kind::pong:
      f.value = read_uint(field[2], "value");
      break;
  }
  return true;
}

}  // namespace

const char* to_string(frame_kind kind) noexcept {
  switch (kind) {
    case frame_kind::hello:
      return "HELLO";
    case frame_kind::open:
      return "OPEN";
    case frame_kind::data:
      return "DATA";
    case frame_kind::end:
      return "END";
    case frame_kind::error:
      return "ERROR";
    case frame_kind::trailers:
      return "TRAILERS";
    case frame_kind::cancel:
      return "CANCEL";
    case frame_kind::credit:
      return "CREDIT";
    case frame_kind::ping:
      return "PING";
    case frame_kind::pong:
      return "PONG";
    case frame_kind::bye:
      return "BYE";
  }
  return "UNKNOWN";
}

void encode(const frame& f, std::string& out) {
  string_sink sink{out};
  packer pk(sink);
  switch (f.kind) {
    case frame_kind::hello:
      pack_head(pk, f.hello->connection_window ? 9 : 8, f.kind, 0);
      pk.pack_uint32(f.hello->version_major);
      pk.pack_uint32(f.hello->version_minor);
      pack_string(pk, f.hello->peer_id);
      pack_string(pk, f.hello->session_id);
      pk.pack_uint64(f.hello->window);
      pk.pack_uint64(f.hello->max_payload);
      if (f.hello->connection_window) pk.pack_uint64(f.hello->connection_window);
      break;
    case frame_kind::open:
      pack_head(pk, 5, f.kind, f.channel);
      pk.pack_uint64(f.parent);
      pack_string(pk, f.service);
      pack_metadata(pk, f.headers);
      break;
    case frame_kind::data:
      encode_data(f.channel, f.borrowed ? f.borrowed : f.payload.data(), f.payload_size(), out);
      break;
    case frame_kind::end:
      encode_simple(f.kind, f.channel, out);
      break;
    case frame_kind::error:
    case frame_kind::cancel:
    case frame_kind::bye:
      encode_status(f.kind, f.channel, f.status, out);
      break;
    case frame_kind::trailers:
      pack_head(pk, 3, f.kind, f.channel);
      pack_metadata(pk, f.headers);
      break;
    case frame_kind::credit:
    case frame_kind::ping:
    case frame_kind::pong:
      encode_value(f.kind, f.channel, f.value, out);
      break;
  }
}

void encode_data(std::uint64_t channel, const std::uint8_t* data, std::size_t size,
                 std::string& out) {
  string_sink sink{out};
  packer pk(sink);
  pack_head(pk, 3, frame_kind::data, channel);
  pk.pack_bin(static_cast<std::uint32_t>(size));
  pk.pack_bin_body(reinterpret_cast<const char*>(data), static_cast<std::uint32_t>(size));
}

void encode_simple(frame_kind kind, std::uint64_t channel, std::string& out) {
  string_sink sink{out};
  packer pk(sink);
  pack_head(pk, 2, kind, channel);
}

void encode_value(frame_kind kind, std::uint64_t channel, std::uint64_t value, std::string& out) {
  string_sink sink{out};
  packer pk(sink);
  pack_head(pk, 3, kind, channel);
  pk.pack_uint64(value);
}

void encode_status(frame_kind kind, std::uint64_t channel, const duplex::error& status,
                   std::string& out) {
  string_sink sink{out};
  packer pk(sink);
  pack_head(pk, 4, kind, channel);
  pk.pack_uint32(static_cast<std::uint32_t>(status.code));
  pack_string(pk, status.message);
}

std::uint64_t read_big_endian(const std::uint8_t* p, int bytes) {
  std::uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value = (value << 8) | p[i];
  return value;
}

// The frame almost every batch is full of, DATA as [3, channel, bin] with nothing after, read
// straight from the bytes instead of through a msgpack object. Returns false, consuming
// nothing, for anything else (other kinds, other encodings, extra fields, a payload over
// `max_blob`, truncation), which the general decoder then takes or refuses.
bool decode_data_directly(const std::uint8_t* p, std::size_t size, std::size_t& offset,
                          std::size_t max_blob, bool borrow, frame& f) {
  std::size_t at = offset;
  auto left = [&] { return size - at; };
  if (left() < 3 || p[at] != 0x93 || p[at + 1] != static_cast<std::uint8_t>(frame_kind::data))
    return false;
  at += 2;
  std::uint64_t channel = 0;
  const std::uint8_t channel_tag = p[at++];
  if (channel_tag <= 0x7f) {
    channel = channel_tag;  // positive fixint
  } else {
    const int width = channel_tag == 0xcc   ? 1
                      : channel_tag == 0xcd ? 2
                      : channel_tag == 0xce ? 4
                      : channel_tag == 0xcf ? 8
                                            : 0;
    if (width == 0 || left() < static_cast<std::size_t>(width)) return false;
    channel = read_big_endian(p + at, width);
    at += static_cast<std::size_t>(width);
  }
  if (left() < 1) return false;
  const std::uint8_t bin_tag = p[at++];
  const int width = bin_tag == 0xc4 ? 1 : bin_tag == 0xc5 ? 2 : bin_tag == 0xc6 ? 4 : 0;
  if (width == 0 || left() < static_cast<std::size_t>(width)) return false;
  const std::uint64_t length = read_big_endian(p + at, width);
  at += static_cast<std::size_t>(width);
  if (length > max_blob || left() < length) return false;
  f.kind = frame_kind::data;
  f.channel = channel;
  if (borrow && length <= max_borrowed_payload) {
    f.borrowed = p + at;
    f.borrowed_size = length;
  } else {
    f.payload.assign(p + at, p + at + length);
  }
  offset = at + length;
  return true;
}

result<std::vector<frame>> decode_batch(const void* data, std::size_t size,
                                        const decode_limits& limits, bool borrow_small_payloads) {
  // Sized to the protocol: an oversize payload must still decode so the receiver can refuse it
  // on its channel, but no length in the input can make us allocate more than this.
  const std::size_t max_blob = limits.max_payload * 2 + (64u << 10);
  const std::size_t max_text = limits.max_header_bytes * 2 + 1024;
  const msgpack::unpack_limit limit(/*array=*/16, /*map=*/4096, /*str=*/max_text,
                                    /*bin=*/max_blob, /*ext=*/0, /*depth=*/4);
  // Reference mode: strings and bins point into `data`; we copy what we keep exactly once.
  auto reference_everything = [](msgpack::type::object_type, std::size_t, void*) { return true; };

  std::vector<frame> frames;
  const char* bytes = static_cast<const char*>(data);
  const auto* raw = static_cast<const std::uint8_t*>(data);
  std::size_t offset = 0;
  std::size_t decoded = 0;  // known and unknown kinds alike
  if (size == 0) return duplex::error{errc::internal, "empty batch"};
  // Room for a batch of small DATA frames at once (the vector would grow to it anyway, copying
  // every frame on each doubling): a 16-byte payload packed as bin makes a 23-byte frame, and
  // a full batch (the transport's 256 KiB soft limit) holds about 11,000 of them. Capped so that
  // a batch of a few large messages does not reserve for thousands.
  constexpr std::size_t smallest_usual_frame = 20;
  constexpr std::size_t most_reserved = 16384;
  frames.reserve(
      std::min<std::size_t>({size / smallest_usual_frame + 1, most_reserved, limits.max_frames}));
  msgpack::zone zone;  // one for the batch, cleared per frame: no allocation per frame
  try {
    while (offset < size) {
      if (decoded++ >= limits.max_frames)
        return duplex::error{errc::internal, "too many frames in one batch"};
      auto& f = frames.emplace_back();
      if (decode_data_directly(raw, size, offset, max_blob, borrow_small_payloads, f)) continue;
      zone.clear();
      auto object =
          msgpack::unpack(zone, bytes, size, offset, reference_everything, nullptr, limit);
      if (!decode_frame(object, f)) frames.pop_back();
    }
  } catch (const malformed& m) {
    return duplex::error{errc::internal, std::string("malformed frame: bad ") + m.what};
  } catch (const std::exception& e) {
    return duplex::error{errc::internal, std::string("undecodable batch: ") + e.what()};
  }
  return frames;
}

}  // namespace duplex::wire
