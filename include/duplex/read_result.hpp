// What one read from a channel gives: a message, the end of the stream, or an error.
#pragma once

#include <memory>
#include <utility>

#include "duplex/bytes.hpp"
#include "duplex/error.hpp"

namespace duplex {

class read_result {
 public:
  enum class kind { message, end, error };

  static read_result message(bytes payload) {
    return read_result{kind::message, std::move(payload), nullptr};
  }
  static read_result end() { return read_result{kind::end, {}, nullptr}; }
  static read_result failure(duplex::error err) {
    return read_result{kind::error, {}, std::make_shared<const duplex::error>(std::move(err))};
  }

  kind what() const noexcept { return kind_; }
  bool is_message() const noexcept { return kind_ == kind::message; }
  // The remote closed its direction cleanly; its trailers are in channel::meta().
  bool is_end() const noexcept { return kind_ == kind::end; }
  bool is_error() const noexcept { return kind_ == kind::error; }
  // True for a message only, so `while (auto msg = ch.read())` stops at end and at errors.
  explicit operator bool() const noexcept { return is_message(); }

  bytes& operator*() & { return payload_; }
  const bytes& operator*() const& { return payload_; }
  bytes&& operator*() && { return std::move(payload_); }
  bytes* operator->() { return &payload_; }
  const bytes* operator->() const { return &payload_; }
  const bytes& payload() const& { return payload_; }
  // errc::ok unless is_error().
  const duplex::error& error() const noexcept {
    static const duplex::error none;
    return error_ ? *error_ : none;
  }

 private:
  read_result(kind k, bytes payload, std::shared_ptr<const duplex::error> err)
      : kind_(k), payload_(std::move(payload)), error_(std::move(err)) {}
  kind kind_;
  bytes payload_;
  // Out of line: messages, which are most results, move as a vector and a pointer; the
  // error of a closed channel is shared by the copies every later read gets.
  std::shared_ptr<const duplex::error> error_;
};

}  // namespace duplex
