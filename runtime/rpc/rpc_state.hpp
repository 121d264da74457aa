// The RPC layer's shared state: a node's core, one call as either end holds it (call_state),
// and what a handler's context refers to (call_scope).
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "duplex/rpc/node.hpp"
#include "runtime/rpc/deadline_timer.hpp"

namespace duplex::rpc::detail {

using clock = std::chrono::steady_clock;
using interceptor_chain = std::vector<std::shared_ptr<interceptor>>;

// One call at either end: its channel, deadline, interceptors and status bookkeeping.
struct call_state {
  std::shared_ptr<node_core> node;
  channel ch;
  call_info info;
  const interceptor_chain* chain = nullptr;
  const codec* payload_codec = nullptr;
  std::optional<clock::time_point> deadline;
  std::optional<error> start_error;  // the call never started: every operation reports it
  bool oneway = false;
  bool nonblocking_completion = false;  // call_options::nonblocking_completion
  deadline_timer::id timer = 0;
  std::optional<bytes> response;  // server: respond_last()'s, sent when the handler returns

  std::mutex mutex;
  std::optional<error> local_end;  // why this side ended it (deadline, inherited cancel)
  std::optional<error> rejected;   // a server interceptor refused a message: the call's status
  std::atomic<bool> was_rejected{false};  // set once `rejected` is: reads look without the lock
  std::atomic<bool> finished{false};

  ~call_state();

  // Ends the call here and at the remote; reads then report `reason`.
  void end_locally(error reason);
  // What a failed read or write reports: this side's own reason if it ended the call.
  error explain(error from_channel);
  result<void> check_message(direction dir, const bytes& payload);
  // Server side: an interceptor refused a message. The call is not cancelled: its handler's
  // further reads and writes fail with `verdict`, which becomes the call's status.
  error reject(error verdict);
  std::optional<error> rejection();
  // Client side: tells the interceptors the final status, once.
  void finish(const error& status);
  result<std::optional<bytes>> on_read(read_result r, bool local_timeout);
};

// What a handler's context and its callbacks refer to; lives until the handler returns and
// every copy of its callbacks is gone.
struct call_scope {
  std::weak_ptr<node_core> node;
  std::string method;
  metadata headers;
  std::string peer_id;
  std::string peer_key;
  std::size_t depth = 0;
  bool oneway = false;
  std::optional<clock::time_point> deadline;
  std::vector<std::string> callback_names;

  mutable std::mutex mutex;
  mutable std::condition_variable cancelled_cv;
  std::optional<error> cancel_reason;
  std::vector<std::function<void(const error&)>> cancel_watchers;
  metadata trailers;
  bool active = true;     // false once the handler returned: callbacks fail
  channel* ch = nullptr;  // the call's channel while active

  // Marks the call cancelled and tells the watchers, once.
  void cancel(error reason);
  // Cancels and ends the channel too (the remote sees `cancelled`).
  void abort(error reason);
  // Cancels the handler and ends the call with `reason` as its status (the deadline passed,
  // the node is stopping).
  void end_with_status(error reason);
  void end();
};

struct node_core : std::enable_shared_from_this<node_core> {
  node_core(duplex::peer& p, service_registry& s, node_options o);

  duplex::peer& peer;
  service_registry& services;
  const node_options options;
  service_registry builtins;
  deadline_timer timer;

  std::mutex active_mutex;
  std::condition_variable active_changed;
  std::set<std::shared_ptr<call_scope>> active;
  bool stopping = false;

  using opener = std::function<result<channel>(std::string service, metadata headers)>;
  call_stream start_call(const opener& open, std::string method, call_options options, bool oneway,
                         std::size_t depth);
  // Serves one incoming call; `callbacks` for a callback call nested at `depth`, nullptr for
  // a call of a registered service.
  void serve(channel ch, std::shared_ptr<const service> callbacks, std::size_t depth);
  // Hands the nested channels the callee opens in a call to `callbacks`, until it ends.
  void accept_callbacks(const std::shared_ptr<call_state>& call,
                        std::shared_ptr<const service> callbacks, std::size_t depth);
  void run_blocking(std::function<void()> job);
  void stop();
  // A unary method of this node registered as handler_mode::nonblocking.
  bool is_nonblocking(const std::string& name);

 private:
  struct lookup {
    std::shared_ptr<const service> owner;
    const method_entry* entry = nullptr;
    error failure;
  };
  lookup find_method(const std::string& name, const std::shared_ptr<const service>& callbacks);
  void add_builtins();
};

// The call served on this thread (call_context::current()).
call_context*& current_context();

}  // namespace duplex::rpc::detail
