// Duplex frames: the units of the wire protocol (docs/PROTOCOL.md), and their msgpack encoding.
// One ZeroMQ message carries a batch: one or more encoded frames back to back.
#pragma once

#include <msgpack.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "duplex/bytes.hpp"
#include "duplex/error.hpp"

namespace duplex::wire {

inline constexpr std::uint32_t protocol_major = 1;
inline constexpr std::uint32_t protocol_minor = 0;
// Credit a DATA frame costs beyond its payload, so that empty messages are bounded too.
inline constexpr std::size_t data_frame_overhead = 16;

enum class frame_kind : std::uint8_t {
  hello = 1,
  open = 2,
  data = 3,
  end = 4,
  error = 5,
  trailers = 6,
  cancel = 7,
  credit = 8,
  ping = 9,
  pong = 10,
  bye = 11,
};

const char* to_string(frame_kind kind) noexcept;

struct hello_fields {
  std::uint32_t version_major = protocol_major;
  std::uint32_t version_minor = protocol_minor;
  std::string peer_id;
  std::string session_id;
  std::uint64_t window = 0;       // initial credit of every channel towards the sender
  std::uint64_t max_payload = 0;  // largest DATA payload the sender accepts
  // Credit for DATA to the sender summed over all channels of the connection; 0: no such
  // limit (the field is then left out of the encoding).
  std::uint64_t connection_window = 0;
};

// A field few frames use, kept out of line so that the frames of a batch stay small:
// allocated when first written; reading an unset one gives a default value.
template <class T>
class out_of_line {
 public:
  out_of_line() = default;
  out_of_line(const out_of_line& other)
      : value_(other.value_ ? std::make_unique<T>(*other.value_) : nullptr) {}
  out_of_line(out_of_line&&) noexcept = default;
  out_of_line& operator=(const out_of_line& other) {
    value_ = other.value_ ? std::make_unique<T>(*other.value_) : nullptr;
    return *this;
  }
  out_of_line& operator=(out_of_line&&) noexcept = default;
  out_of_line& operator=(T value) {
    value_ = std::make_unique<T>(std::move(value));
    return *this;
  }
  T& operator*() {
    if (!value_) value_ = std::make_unique<T>();
    return *value_;
  }
  const T& operator*() const { return value_ ? *value_ : unset(); }
  T* operator->() { return &**this; }
  const T* operator->() const { return &**this; }

 private:
  static const T& unset() {
    static const T value{};
    return value;
  }
  std::unique_ptr<T> value_;
};

// One frame; which fields matter depends on `kind` (see PROTOCOL.md).
struct frame {
  frame_kind kind = frame_kind::data;
  std::uint64_t channel = 0;
  std::uint64_t parent = 0;         // open: enclosing channel id, 0 for none
  std::string service;              // open
  metadata headers;                 // open: headers; trailers: trailers
  bytes payload;                    // data (unless borrowed, see below)
  std::uint64_t value = 0;          // credit: bytes granted; ping/pong: nonce
  duplex::error status;             // error, cancel, bye
  out_of_line<hello_fields> hello;  // hello
  // data decoded with borrow_small_payloads: the payload is still in the decoded batch's bytes,
  // valid only as long as they are (`payload` is then empty).
  const std::uint8_t* borrowed = nullptr;
  std::size_t borrowed_size = 0;

  std::size_t payload_size() const { return borrowed ? borrowed_size : payload.size(); }
  // Copies a borrowed payload into `payload`, for a frame that outlives the batch's bytes.
  void own_payload() {
    if (!borrowed) return;
    payload.assign(borrowed, borrowed + borrowed_size);
    borrowed = nullptr;
    borrowed_size = 0;
  }
};

// DATA payloads up to this size may be borrowed from the batch (see decode_batch).
inline constexpr std::size_t max_borrowed_payload = 1024;

// Limits applied while decoding bytes from the network (msgpack-cxx trusts lengths otherwise).
struct decode_limits {
  std::size_t max_payload = 4u << 20;  // larger payloads still decode up to 2x + 64 KiB so the
                                       // receiver can refuse them per channel
  std::size_t max_header_bytes = 64u << 10;
  std::size_t max_frames = 1u << 20;  // per batch
};

// Appends the encoding of `f` to `out` (a batch under construction).
void encode(const frame& f, std::string& out);
// Fast paths for the frequent frames.
void encode_data(std::uint64_t channel, const std::uint8_t* data, std::size_t size,
                 std::string& out);
void encode_simple(frame_kind kind, std::uint64_t channel, std::string& out);
void encode_value(frame_kind kind, std::uint64_t channel, std::uint64_t value, std::string& out);
void encode_status(frame_kind kind, std::uint64_t channel, const duplex::error& status,
                   std::string& out);

// Decodes a whole batch. Any malformed frame makes the whole batch a connection error
// (errc::internal). Frames of unknown kind are skipped (forward compatibility).
// borrow_small_payloads: DATA payloads up to max_borrowed_payload are not copied but point
// into `data` (frame::borrowed), so that the receiver can copy many into one buffer.
result<std::vector<frame>> decode_batch(const void* data, std::size_t size,
                                        const decode_limits& limits,
                                        bool borrow_small_payloads = false);

}  // namespace duplex::wire
