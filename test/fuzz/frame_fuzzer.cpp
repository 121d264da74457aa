// Fuzz harness for the wire codec (codec/frame.cpp), built two ways: as a libFuzzer target
// (DUPLEX_FUZZ=ON with clang) and, without libFuzzer, into fuzz_corpus_replay, which runs every
// file of test/fuzz/corpus through it under CTest.
//
// The input is used three ways:
//  1. whole, as one batch, decoded with the default limits and with small ones;
//  2. split into batches, each a 2-byte big-endian length and that many bytes (the last one
//     cut to what is left), fed in order to a model of one connection's receiving side
//     (PROTOCOL.md §3-5: HELLO first, channel ids, stream grammar, credit);
//  3. as a recipe for frames with arbitrary field values (any integer width, any bytes), which
//     are encoded as one batch that must decode to the same frames. Mutating msgpack bytes
//     seldom widens an integer or a string; this reaches the whole value range of every field.
// For every batch that decodes, each frame must satisfy the limits the decoder promises, must
// survive encode -> decode unchanged, and must re-encode to the same bytes; the whole batch
// re-encoded must decode to the same frames. A violated property aborts with a description.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "codec/frame.hpp"

namespace {

using namespace duplex;
using namespace duplex::wire;

std::string hex(const char* data, std::size_t size) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < size; ++i) {
    auto b = static_cast<unsigned char>(data[i]);
    if (i > 0) out += ' ';
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

std::string hex(const std::string& s) {
  return hex(s.data(), s.size());
}

std::string describe(const frame& f) {
  std::string out = std::string(to_string(f.kind)) + " channel=" + std::to_string(f.channel);
  out += " parent=" + std::to_string(f.parent) + " service=[" + hex(f.service) + "]";
  out += " headers={";
  for (const auto& [key, value] : f.headers) out += "[" + hex(key) + "]:[" + hex(value) + "] ";
  out +=
      "} payload=[" + hex(reinterpret_cast<const char*>(f.payload.data()), f.payload.size()) + "]";
  out += " value=" + std::to_string(f.value);
  out += " status=" + std::to_string(static_cast<std::uint32_t>(f.status.code)) + ":[" +
         hex(f.status.message) + "]";
  out += " hello=" + std::to_string(f.hello->version_major) + "." +
         std::to_string(f.hello->version_minor) + ",[" + hex(f.hello->peer_id) + "],[" +
         hex(f.hello->session_id) + "]," + std::to_string(f.hello->window) + "," +
         std::to_string(f.hello->max_payload);
  return out;
}

[[noreturn]] void violated(const char* property, const frame* a = nullptr, const frame* b = nullptr,
                           const std::string& bytes = {}) {
  std::fprintf(stderr, "frame_fuzzer: property violated: %s\n", property);
  if (a) std::fprintf(stderr, "  frame:    %s\n", describe(*a).c_str());
  if (b) std::fprintf(stderr, "  decoded:  %s\n", describe(*b).c_str());
  if (!bytes.empty()) std::fprintf(stderr, "  encoding: %s\n", hex(bytes).c_str());
  std::abort();
}

bool same(const frame& a, const frame& b) {
  return a.kind == b.kind && a.channel == b.channel && a.parent == b.parent &&
         a.service == b.service && a.headers == b.headers && a.payload == b.payload &&
         a.value == b.value && a.status == b.status &&
         a.hello->version_major == b.hello->version_major &&
         a.hello->version_minor == b.hello->version_minor && a.hello->peer_id == b.hello->peer_id &&
         a.hello->session_id == b.hello->session_id && a.hello->window == b.hello->window &&
         a.hello->max_payload == b.hello->max_payload;
}

std::string encoded(const frame& f) {
  std::string out;
  encode(f, out);
  return out;
}

// What decode_batch promises about every frame it returns (the actors rely on it).
void check_within_limits(const frame& f, const decode_limits& limits) {
  const std::size_t max_blob = limits.max_payload * 2 + (64u << 10);
  const std::size_t max_text = limits.max_header_bytes * 2 + 1024;
  if (std::string(to_string(f.kind)) == "UNKNOWN") violated("a frame of unknown kind", &f);
  if (f.payload.size() > max_blob) violated("payload above the hard cap", &f);
  if (f.headers.size() > 4096) violated("more than 4096 headers", &f);
  for (const auto& [key, value] : f.headers) {
    if (key.size() > max_text) violated("header key above the string limit", &f);
    if (value.size() > max_blob) violated("header value above the bin limit", &f);
  }
  for (const auto* text : {&f.service, &f.status.message, &f.hello->peer_id, &f.hello->session_id})
    if (text->size() > max_text) violated("string above the string limit", &f);
  if (static_cast<std::uint32_t>(f.status.code) > 16) violated("status code outside 0..16", &f);
}

// encode then decode gives the frame back, and encoding is deterministic.
void check_round_trip(const frame& f, const decode_limits& limits) {
  const auto bytes = encoded(f);
  auto again = decode_batch(bytes.data(), bytes.size(), limits);
  if (!again)
    violated(("re-encoded frame does not decode: " + again.error().message).c_str(), &f, nullptr,
             bytes);
  if (again->size() != 1) violated("re-encoded frame does not decode to one frame", &f);
  auto expected = f;
  // HELLO is connection-level: encode() always writes channel 0 (PROTOCOL.md §2), whatever the
  // decoded frame carried. The decoder does not check it (see the report on frame.cpp).
  if (f.kind == frame_kind::hello) expected.channel = 0;
  if (!same(again->front(), expected))
    violated("decode(encode(f)) != f", &expected, &again->front(), bytes);
  if (encoded(again->front()) != bytes)
    violated("encode(decode(encode(f))) != encode(f)", &f, &again->front(), bytes);
}

// Decodes one batch and checks every property; returns the decode result.
result<std::vector<frame>> decode_and_check(const char* data, std::size_t size,
                                            const decode_limits& limits) {
  auto decoded = decode_batch(data, size, limits);
  if (!decoded) {
    if (decoded.code() != errc::internal) violated("a decode error that is not internal");
    if (decoded.error().message.empty()) violated("a decode error without a message");
    return decoded;
  }
  if (size == 0) violated("an empty batch decoded");
  if (decoded->size() > limits.max_frames) violated("more frames than max_frames");
  std::string batch;
  for (const auto& f : *decoded) {
    check_within_limits(f, limits);
    check_round_trip(f, limits);
    encode(f, batch);
  }
  if (!decoded->empty()) {
    auto again = decode_batch(batch.data(), batch.size(), limits);
    if (!again) violated("a re-encoded batch does not decode");
    if (again->size() != decoded->size()) violated("a re-encoded batch lost or gained frames");
    for (std::size_t i = 0; i < decoded->size(); ++i) {
      auto expected = (*decoded)[i];
      if (expected.kind == frame_kind::hello) expected.channel = 0;
      if (!same((*again)[i], expected))
        violated("a re-encoded batch decodes differently", &expected, &(*again)[i]);
    }
  }
  return decoded;
}

// The receiving side of one connection whose remote connected to us (so it opens odd ids),
// following PROTOCOL.md: what the peer and channel actors do, minus actors and sockets.
class connection_model {
 public:
  static constexpr std::uint64_t max_payload = 64;
  static constexpr std::uint64_t window = max_payload + data_frame_overhead + 48;
  static constexpr std::size_t max_channels = 8;
  static constexpr std::size_t max_header_bytes = 64;

  static decode_limits limits() {
    decode_limits l;
    l.max_payload = max_payload;
    l.max_header_bytes = max_header_bytes;
    l.max_frames = 64;
    return l;
  }

  void on_batch(const result<std::vector<frame>>& batch) {
    if (state_ == state::closed) return;
    if (!batch) return close();
    for (const auto& f : *batch) {
      if (!on_frame(f)) return close();
      check_invariants();
    }
    // Between batches the application reads everything and gives the credit back, and ends its
    // own stream of every channel whose remote stream ended: those channels close.
    for (auto it = channels_.begin(); it != channels_.end();) {
      it->second.receive_credit = window;
      it = it->second.remote_done ? channels_.erase(it) : std::next(it);
    }
  }

 private:
  enum class state { awaiting_hello, ready, closed };

  struct channel {
    bool remote_done = false;
    bool trailers = false;
    std::uint64_t receive_credit = window;
    std::uint64_t send_credit = 0;
  };

  void close() {
    state_ = state::closed;
    channels_.clear();
  }

  // False on a connection error.
  bool on_frame(const frame& f) {
    if (f.kind == frame_kind::hello) return hello(*f.hello);
    if (f.kind == frame_kind::bye) return false;
    if (state_ != state::ready) return false;  // anything else before HELLO
    switch (f.kind) {
      case frame_kind::ping:
      case frame_kind::pong:
        return true;
      case frame_kind::open:
        open(f);
        return true;
      default:
        break;
    }
    if (f.channel == 0) return false;
    auto it = channels_.find(f.channel);
    // Frames for a channel that is not open are ignored (it was used) or answered with a
    // CANCEL (it never was); neither changes the connection.
    if (it == channels_.end()) return true;
    auto& ch = it->second;
    switch (f.kind) {
      case frame_kind::data: {
        const std::uint64_t cost = f.payload.size() + data_frame_overhead;
        // stream := DATA* [TRAILERS] (END | ERROR)
        if (ch.remote_done || ch.trailers || f.payload.size() > max_payload ||
            cost > ch.receive_credit)
          return channel_error(it);
        ch.receive_credit -= cost;
        return true;
      }
      case frame_kind::trailers:
        if (ch.remote_done || ch.trailers) return channel_error(it);
        ch.trailers = true;
        return true;
      case frame_kind::end:
      case frame_kind::error:
        if (ch.remote_done) return channel_error(it);
        ch.remote_done = true;
        return true;
      case frame_kind::credit:
        if (f.value > std::numeric_limits<std::uint64_t>::max() - ch.send_credit)
          return channel_error(it);
        ch.send_credit += f.value;
        return true;
      case frame_kind::cancel:
        channels_.erase(it);
        return true;
      default:
        return channel_error(it);
    }
  }

  // A channel error: CANCEL for that channel only, the connection carries on.
  bool channel_error(std::map<std::uint64_t, channel>::iterator it) {
    channels_.erase(it);
    return true;
  }

  bool hello(const hello_fields& h) {
    if (state_ != state::awaiting_hello) return false;
    if (h.version_major != protocol_major || h.peer_id.empty() || h.session_id.empty() ||
        h.window < data_frame_overhead + 1)
      return false;
    state_ = state::ready;
    remote_window_ = h.window;
    return true;
  }

  void open(const frame& f) {
    if (f.channel % 2 == 0 || f.channel <= highest_remote_id_) return;  // refused
    highest_remote_id_ = f.channel;
    std::size_t header_bytes = f.service.size();
    for (const auto& [key, value] : f.headers) header_bytes += key.size() + value.size();
    auto type = f.headers.find("content-type");
    const bool known_type = type == f.headers.end() || type->second == "application/msgpack" ||
                            type->second == "application/json";
    const bool parent_ok = f.parent == 0 || channels_.count(f.parent) == 1;
    if (channels_.size() >= max_channels || header_bytes > max_header_bytes || !known_type ||
        !parent_ok)
      return;  // refused with CANCEL
    channel ch;
    ch.send_credit = remote_window_;
    channels_.emplace(f.channel, ch);
  }

  void check_invariants() const {
    if (state_ == state::ready && remote_window_ <= data_frame_overhead)
      violated("model: ready with a window below 17");
    if (channels_.size() > max_channels) violated("model: too many channels");
    for (const auto& [id, ch] : channels_) {
      if (id % 2 == 0 || id > highest_remote_id_)
        violated("model: a channel the remote never opened");
      if (ch.receive_credit > window) violated("model: more credit than the window");
    }
  }

  state state_ = state::awaiting_hello;
  std::uint64_t remote_window_ = 0;
  std::uint64_t highest_remote_id_ = 0;
  std::map<std::uint64_t, channel> channels_;
};

// Reads values from the input front to back; zeros once it runs out.
class recipe {
 public:
  recipe(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

  bool empty() const { return offset_ >= size_; }

  std::uint8_t byte() { return offset_ < size_ ? data_[offset_++] : 0; }

  // An integer of 0, 1, 2, 4 or 8 random bytes, so that every msgpack width occurs.
  std::uint64_t integer() {
    static const int widths[] = {0, 1, 2, 4, 8};
    const auto selector = byte();
    std::uint64_t value = 0;
    for (int i = 0; i < widths[selector % 5]; ++i) value = (value << 8) | byte();
    return selector >= 0xf0 ? ~value : value;  // the top of the range as well
  }

  std::string text() {
    const std::size_t length = byte();
    std::string out(std::min(length, size_ - std::min(offset_, size_)), '\0');
    for (auto& c : out) c = static_cast<char>(byte());
    return out;
  }

  metadata meta() {
    metadata out;
    for (auto n = byte() % 4; n > 0; --n) {
      auto key = text();
      out[key] = text();
    }
    return out;
  }

  frame next() {
    frame f;
    f.kind = static_cast<frame_kind>(byte() % 11 + 1);
    f.channel = f.kind == frame_kind::hello ? 0 : integer();
    switch (f.kind) {
      case frame_kind::hello:
        f.hello->version_major = static_cast<std::uint32_t>(integer());
        f.hello->version_minor = static_cast<std::uint32_t>(integer());
        f.hello->peer_id = text();
        f.hello->session_id = text();
        f.hello->window = integer();
        f.hello->max_payload = integer();
        break;
      case frame_kind::open:
        f.parent = integer();
        f.service = text();
        f.headers = meta();
        break;
      case frame_kind::data:
        f.payload = to_bytes(text());
        break;
      case frame_kind::end:
        break;
      case frame_kind::error:
      case frame_kind::cancel:
      case frame_kind::bye:
        f.status = {static_cast<errc>(byte() % 17), text()};
        break;
      case frame_kind::trailers:
        f.headers = meta();
        break;
      case frame_kind::credit:
      case frame_kind::ping:
      case frame_kind::pong:
        f.value = integer();
        break;
    }
    return f;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t offset_ = 0;
};

void check_recipe(const std::uint8_t* data, std::size_t size) {
  recipe r(data, size);
  std::vector<frame> frames;
  std::string batch;
  while (!r.empty() && frames.size() < 64) {
    frames.push_back(r.next());
    encode(frames.back(), batch);
  }
  if (frames.empty()) return;
  auto decoded = decode_batch(batch.data(), batch.size(), decode_limits{});
  if (!decoded)
    violated(("encoded frames do not decode: " + decoded.error().message).c_str(), &frames[0]);
  if (decoded->size() != frames.size()) violated("encoded frames decode to another count");
  for (std::size_t i = 0; i < frames.size(); ++i)
    if (!same((*decoded)[i], frames[i]))
      violated("decode(encode(frames)) != frames", &frames[i], &(*decoded)[i]);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const char* bytes = reinterpret_cast<const char*>(data);
  decode_and_check(bytes, size, decode_limits{});
  decode_and_check(bytes, size, connection_model::limits());

  connection_model model;
  std::size_t offset = 0;
  while (offset + 2 <= size) {
    std::size_t length = (std::size_t{data[offset]} << 8) | data[offset + 1];
    offset += 2;
    if (length > size - offset) length = size - offset;
    auto batch = decode_and_check(bytes + offset, length, connection_model::limits());
    decode_and_check(bytes + offset, length, decode_limits{});
    model.on_batch(batch);
    offset += length;
  }

  check_recipe(data, size);
  return 0;
}
