// A hand-rolled Duplex client on a raw DEALER, for tests that need the wire itself: frames
// are built with msgpack directly, and what arrives can be seen message by message.
#pragma once

#include <msgpack.hpp>
#include <zmq.hpp>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "support.hpp"

namespace duplex::testing {

class raw_client {
 public:
  explicit raw_client(const std::string& endpoint) : socket_(context_, zmq::socket_type::dealer) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.connect(endpoint);
  }

  void send_raw(const std::string& body) { socket_.send(zmq::buffer(body), zmq::send_flags::none); }

  template <class... Ts>
  static std::string frame(Ts&&... fields) {
    msgpack::sbuffer buffer;
    msgpack::pack(buffer, std::make_tuple(std::forward<Ts>(fields)...));
    return std::string(buffer.data(), buffer.size());
  }

  static std::string bin(const std::string& data) {
    msgpack::sbuffer buffer;
    msgpack::packer<msgpack::sbuffer> pk(buffer);
    pk.pack_bin(static_cast<std::uint32_t>(data.size()));
    pk.pack_bin_body(data.data(), static_cast<std::uint32_t>(data.size()));
    return std::string(buffer.data(), buffer.size());
  }

  static std::string data_frame(std::uint64_t channel, const std::string& payload) {
    return std::string("\x93\x03", 2) + pack_uint(channel) + bin(payload);
  }

  static std::string pack_uint(std::uint64_t value) {
    msgpack::sbuffer buffer;
    msgpack::pack(buffer, value);
    return std::string(buffer.data(), buffer.size());
  }

  void hello(std::string id = "raw", std::uint32_t major = 1) {
    send_raw(frame(1, 0, major, 0, id, std::string("raw-session"), 8u << 20, 4u << 20));
  }

  // Receives frames until one matches `kind` (and `channel`, unless 0) or the limit passes.
  std::optional<msgpack::object_handle> wait_for(int kind, std::uint64_t channel = 0) {
    auto deadline = std::chrono::steady_clock::now() + wait_limit;
    while (auto frames = next_message(deadline)) {
      for (auto& handle : *frames)
        if (kind_of(handle) == kind && (channel == 0 || channel_of(handle) == channel))
          return std::move(handle);
    }
    return std::nullopt;
  }

  // The frames, as (kind, channel), of the next message holding a frame of `kind`; messages
  // before it are skipped. Empty when none came within the wait limit.
  std::vector<std::pair<int, std::uint64_t>> message_with(int kind) {
    auto deadline = std::chrono::steady_clock::now() + wait_limit;
    while (auto frames = next_message(deadline)) {
      std::vector<std::pair<int, std::uint64_t>> seen;
      for (auto& handle : *frames) seen.emplace_back(kind_of(handle), channel_of(handle));
      for (auto& [k, channel] : seen)
        if (k == kind) return seen;
    }
    return {};
  }

  static int code_of(const msgpack::object_handle& h) { return h.get().via.array.ptr[2].as<int>(); }
  static std::string message_of(const msgpack::object_handle& h) {
    return h.get().via.array.ptr[3].as<std::string>();
  }

 private:
  static int kind_of(const msgpack::object_handle& h) { return h.get().via.array.ptr[0].as<int>(); }
  static std::uint64_t channel_of(const msgpack::object_handle& h) {
    return h.get().via.array.ptr[1].as<std::uint64_t>();
  }

  // The decoded frames of the next message, or nothing once `deadline` passed.
  std::optional<std::vector<msgpack::object_handle>> next_message(
      std::chrono::steady_clock::time_point deadline) {
    while (std::chrono::steady_clock::now() < deadline) {
      zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, std::chrono::milliseconds{50});
      if (!(item.revents & ZMQ_POLLIN)) continue;
      zmq::message_t message;
      (void)socket_.recv(message);
      std::vector<msgpack::object_handle> frames;
      std::size_t offset = 0;
      const char* data = static_cast<const char*>(message.data());
      while (offset < message.size())
        frames.push_back(msgpack::unpack(data, message.size(), offset));
      return frames;
    }
    return std::nullopt;
  }

  zmq::context_t context_;
  zmq::socket_t socket_;
};

}  // namespace duplex::testing
