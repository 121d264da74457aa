// Status codes, errors and result values shared by every Duplex API.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace duplex {

// gRPC's status codes with gRPC's numbers and meanings; the same numbers go on the wire.
enum class errc : std::uint32_t {
  ok = 0,
  cancelled = 1,            // the operation was cancelled (by either side or by dropping a handle)
  unknown = 2,              // an error with no better code, e.g. a handler threw
  invalid_argument = 3,     // bad input from the caller: endpoint, option, undecodable payload
  deadline_exceeded = 4,    // the deadline passed before the operation completed
  not_found = 5,            // a named thing does not exist
  already_exists = 6,       // e.g. a second peer claiming a connected peer id
  permission_denied = 7,    // the caller may not do this
  resource_exhausted = 8,   // a limit was hit: queue full, payload too large, too many channels
  failed_precondition = 9,  // the system is not in a state for this, e.g. protocol mismatch
  aborted = 10,             // concurrency conflict
  out_of_range = 11,        // past a valid range
  unimplemented = 12,       // no such service at the remote
  internal = 13,            // a broken invariant or protocol violation
  unavailable = 14,         // the remote is not reachable, went away or restarted
  data_loss = 15,           // unrecoverable data loss
  unauthenticated = 16,     // missing or bad credentials
};

// The lowercase name of a code, e.g. "unavailable"; "errc(N)" for numbers outside the table.
std::string_view to_string(errc code) noexcept;
// Maps a wire number back to a code; numbers outside 0..16 become errc::unknown.
errc errc_from_wire(std::uint64_t number) noexcept;

// A typed error: a code and a human-readable message. A value type.
struct error {
  errc code = errc::ok;
  std::string message;

  error() = default;
  error(errc c, std::string msg) : code(c), message(std::move(msg)) {}

  bool ok() const noexcept { return code == errc::ok; }
  // "unavailable: peer went away"
  std::string to_string() const;
  friend bool operator==(const error& a, const error& b) {
    return a.code == b.code && a.message == b.message;
  }
};

// Thrown only by constructors and blocking conveniences that cannot return a result.
class exception : public std::runtime_error {
 public:
  explicit exception(duplex::error err);
  const duplex::error& error() const noexcept { return err_; }

 private:
  duplex::error err_;
};

// Either a value or an error (an `expected`-style result).
template <class T>
class result {
 public:
  result(T value) : state_(std::move(value)) {}
  result(duplex::error err) : state_(std::move(err)) {}

  bool ok() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { return check(), std::get<0>(state_); }
  const T& value() const& { return check(), std::get<0>(state_); }
  T&& value() && { return check(), std::get<0>(std::move(state_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // The error; an `ok` error when this holds a value.
  duplex::error error() const { return ok() ? duplex::error{} : std::get<1>(state_); }
  errc code() const noexcept { return ok() ? errc::ok : std::get<1>(state_).code; }

 private:
  void check() const {
    if (!ok()) throw exception(std::get<1>(state_));
  }
  std::variant<T, duplex::error> state_;
};

// A result without a value: success or an error.
template <>
class result<void> {
 public:
  result() = default;
  result(duplex::error err) {
    if (!err.ok()) err_ = std::move(err);
  }
  bool ok() const noexcept { return !err_.has_value(); }
  explicit operator bool() const noexcept { return ok(); }
  duplex::error error() const { return err_ ? *err_ : duplex::error{}; }
  errc code() const noexcept { return err_ ? err_->code : errc::ok; }
  // Throws duplex::exception when this holds an error.
  void value() const {
    if (err_) throw exception(*err_);
  }

 private:
  std::optional<duplex::error> err_;
};

std::ostream& operator<<(std::ostream& out, errc code);
std::ostream& operator<<(std::ostream& out, const error& err);

}  // namespace duplex
