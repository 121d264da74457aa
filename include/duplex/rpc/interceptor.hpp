// Interceptors: an ordered chain run on every call a node makes (client chain) or serves
// (server chain), for logging, authentication checks and metrics. Each hook may reject the
// call with a typed error: a server-side rejection is the call's status at both ends; a
// client-side one fails the call with it at the caller and cancels it at the callee.
//
// Hooks run on the thread that makes or serves the call (on_message: the thread that reads
// or writes), possibly several calls at once: an interceptor must be thread-safe.
#pragma once

#include <string>

#include "duplex/bytes.hpp"
#include "duplex/error.hpp"

namespace duplex::rpc {

struct call_info {
  std::string method;     // "service/method" (a callback's name for callback calls)
  metadata headers;       // what the call carries; a client's on_start may change them
  std::string peer_id;    // the remote peer (empty while a client call waits for one)
  bool client = true;     // true in the client chain, false in the server chain
  std::size_t depth = 0;  // 0 for calls, n for callbacks nested n deep
  // Server chain: the caller's CURVE public key as authenticated (Z85); empty without CURVE
  // and in the client chain.
  std::string peer_key = {};
};

enum class direction { sent, received };

class interceptor {
 public:
  virtual ~interceptor() = default;
  // Before the call goes out (client) or before its handler runs (server).
  virtual result<void> on_start(call_info& /*call*/) { return {}; }
  // Every message, in wire form (the call's codec), as it is written or read.
  virtual result<void> on_message(const call_info& /*call*/, direction /*dir*/,
                                  const bytes& /*payload*/) {
    return {};
  }
  // Once per started call with its final status and the handler's trailers.
  virtual void on_finish(const call_info& /*call*/, const error& /*status*/,
                         const metadata& /*trailers*/) {}
};

}  // namespace duplex::rpc
