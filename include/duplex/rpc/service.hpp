// Services: named tables of typed methods, and the registry a node serves them from.
//
// A method has one of four shapes, typed through the call's codec (msgpack maps by default,
// JSON by header), or is raw (bytes both ways):
//   unary<Req, Resp>          (const Req&, call_context&)                        -> result<Resp>
//   server_stream<Req, Resp>  (const Req&, writer<Resp>&, call_context&)         -> result<void>
//   client_stream<Req, Resp>  (reader<Req>&, call_context&)                      -> result<Resp>
//   bidi<Req, Resp>           (reader<Req>&, writer<Resp>&, call_context&)       -> result<void>
//   raw                       (call_stream&, call_context&)                      -> error
// A handler's error becomes the call's status; a throwing handler gives `unknown` with the
// exception's message. Handlers run on the peer's handler pool and may block, except a unary
// handler registered as handler_mode::nonblocking (below).
//
// The same table type carries the callbacks a caller passes with a call (see
// call_options::callbacks): a callback is a method named by the callback's name.
#pragma once

#include <msgpack.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "duplex/rpc/call_stream.hpp"
#include "duplex/rpc/context.hpp"

namespace duplex::rpc {

enum class shape { unary, server_stream, client_stream, bidi, raw };

// "unary", "server_stream", "client_stream", "bidi", "raw".
std::string_view to_string(shape s) noexcept;

// What reflection tells about a method. Type names are the application's own words (the
// schema name, e.g. "AddRequest"); they are never derived from C++ type information.
struct method_info {
  std::string name;
  std::string description = {};
  std::string request_type = {};
  std::string response_type = {};
};

using raw_handler = std::function<error(call_stream&, call_context&)>;

// How a unary handler may be run.
enum class handler_mode {
  // On the peer's handler pool: the handler may block (wait, sleep, make calls).
  may_block,
  // The handler neither blocks nor waits (no calls, no sleeps, no contended locks): when its
  // whole request arrived in one batch, as a small request does, it runs on Duplex's I/O
  // thread as soon as the batch is read, which saves the two thread hand-offs to and from the
  // pool; otherwise on the pool. While it runs there, every connection of the runtime waits
  // for it, and a write that would wait for credit fails with resource_exhausted instead.
  nonblocking,
};

struct method_entry {
  method_info info;
  shape kind = shape::raw;
  handler_mode mode = handler_mode::may_block;
  std::vector<std::string> request_fields;   // map keys of the request type, if it is a map
  std::vector<std::string> response_fields;  // likewise for the response
  raw_handler run;
};

namespace detail {

// The field names of a MSGPACK_DEFINE_MAP type, read from a default value; empty otherwise.
template <class T>
std::vector<std::string> field_names() {
  std::vector<std::string> names;
  if constexpr (std::is_default_constructible_v<T>) {
    try {
      msgpack::sbuffer buffer;
      msgpack::pack(buffer, T{});
      auto handle = msgpack::unpack(buffer.data(), buffer.size());
      const auto& obj = handle.get();
      if (obj.type == msgpack::type::MAP)
        for (std::uint32_t i = 0; i < obj.via.map.size; ++i)
          if (obj.via.map.ptr[i].key.type == msgpack::type::STR)
            names.push_back(obj.via.map.ptr[i].key.as<std::string>());
    } catch (const std::exception&) {
      names.clear();
    }
  }
  return names;
}

// Exactly one message, then the end: what unary and server-streaming methods take.
template <class T>
result<T> read_one(call_stream& stream) {
  auto first = stream.read_as<T>();
  if (!first) return first.error();
  if (!*first) return error{errc::invalid_argument, "the call carried no request message"};
  auto rest = stream.read();
  if (!rest) return rest.error();
  if (*rest) return error{errc::invalid_argument, "the call carried more than one request message"};
  return std::move(**first);
}

// A handler's one response: encoded now, sent when the handler returns, in one batch with the
// trailers and the end (the caller reads them together).
template <class T>
error respond_with(call_stream& stream, const T& response) {
  auto encoded = encode_as(stream.payload_codec(), response);
  if (!encoded) return encoded.error();
  return respond_last(stream, std::move(*encoded)).error();
}

}  // namespace detail

class service {
 public:
  explicit service(std::string name, std::string description = {}, std::string version = "1.0.0");

  const std::string& name() const { return name_; }
  const std::string& description() const { return description_; }
  const std::string& version() const { return version_; }

  template <class Req, class Resp, class F>
  service& unary(method_info info, F handler, handler_mode mode = handler_mode::may_block) {
    add(
        std::move(info), shape::unary, detail::field_names<Req>(), detail::field_names<Resp>(),
        [h = std::move(handler)](call_stream& s, call_context& ctx) -> error {
          auto request = detail::read_one<Req>(s);
          if (!request) return request.error();
          result<Resp> response = h(static_cast<const Req&>(*request), ctx);
          if (!response) return response.error();
          return detail::respond_with(s, *response);
        },
        mode);
    return *this;
  }

  template <class Req, class Resp, class F>
  service& server_stream(method_info info, F handler) {
    return add(std::move(info), shape::server_stream, detail::field_names<Req>(),
               detail::field_names<Resp>(),
               [h = std::move(handler)](call_stream& s, call_context& ctx) -> error {
                 auto request = detail::read_one<Req>(s);
                 if (!request) return request.error();
                 writer<Resp> out(s);
                 result<void> status = h(static_cast<const Req&>(*request), out, ctx);
                 return status.error();
               });
  }

  template <class Req, class Resp, class F>
  service& client_stream(method_info info, F handler) {
    return add(std::move(info), shape::client_stream, detail::field_names<Req>(),
               detail::field_names<Resp>(),
               [h = std::move(handler)](call_stream& s, call_context& ctx) -> error {
                 reader<Req> in(s);
                 result<Resp> response = h(in, ctx);
                 if (!response) return response.error();
                 return detail::respond_with(s, *response);
               });
  }

  template <class Req, class Resp, class F>
  service& bidi(method_info info, F handler) {
    return add(std::move(info), shape::bidi, detail::field_names<Req>(),
               detail::field_names<Resp>(),
               [h = std::move(handler)](call_stream& s, call_context& ctx) -> error {
                 reader<Req> in(s);
                 writer<Resp> out(s);
                 result<void> status = h(in, out, ctx);
                 return status.error();
               });
  }

  // Untyped: the handler reads and writes the call's bytes itself.
  service& raw(method_info info, raw_handler handler);

  // nullptr when there is no such method.
  const method_entry* find(std::string_view method) const;
  const std::map<std::string, method_entry, std::less<>>& methods() const { return methods_; }

 private:
  service& add(method_info info, shape kind, std::vector<std::string> request_fields,
               std::vector<std::string> response_fields, raw_handler run,
               handler_mode mode = handler_mode::may_block);

  std::string name_;
  std::string description_;
  std::string version_;
  std::map<std::string, method_entry, std::less<>> methods_;
};

// The callbacks a caller passes with a call: methods named by the callback's name.
using callback_set = service;

// The services a node serves. Thread-safe; services can be added and removed while serving
// (calls already running keep the service they started with).
class service_registry {
 public:
  // Adds `s`, replacing a service of the same name. Names may not contain '/'.
  result<void> add(service s);
  bool remove(std::string_view name);
  std::shared_ptr<const service> find(std::string_view name) const;
  std::vector<std::shared_ptr<const service>> list() const;

  // Health, as duplex.health reports it: a service is serving unless set otherwise.
  void set_serving(std::string_view name, bool serving);
  // std::nullopt for an unknown service.
  std::optional<bool> serving(std::string_view name) const;

 private:
  mutable std::shared_mutex mutex_;
  std::map<std::string, std::shared_ptr<const service>, std::less<>> services_;
  std::map<std::string, bool, std::less<>> not_serving_;
};

}  // namespace duplex::rpc
