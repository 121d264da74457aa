// CAF actors and RPC services, both ways.
//
// export_actor() makes an actor a service: each method becomes the message (Atom, Req) sent
// to the actor, and the actor's reply (Resp) becomes the response.
//
//   using add_atom = caf::atom_constant<caf::atom("add")>;
//   duplex::rpc::actor_methods methods;
//   methods.add<add_atom, add_request, add_reply>({"add", "Adds", "AddRequest", "AddReply"});
//   services.add(duplex::rpc::export_actor("calc", calc_actor, methods));
//
// remote_actor() is the other way: an actor that stands for a remote service, so that actor
// code calls it like a local actor: self->request(calc, 1s, add_atom::value, req).then(...).
// Failed calls arrive as caf::error in the "duplex" category (to_error() converts back).
//
// Req and Resp travel inside CAF messages, so they must be registered with the actor system
// before it starts (e.g. in runtime's `customize` callback: cfg.add_message_type<T>("T"),
// which needs an inspect() overload) and be msgpack types (MSGPACK_DEFINE_MAP) for the wire.
// A handler whose actor fails or dies gives `unknown` with CAF's reason.
#pragma once

#include <caf/all.hpp>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "duplex/rpc/node.hpp"
#include "duplex/send_batch.hpp"

namespace duplex::rpc {

using dpx_reply_atom = caf::atom_constant<caf::atom("dpx_reply")>;

// caf::error <-> duplex::error ("duplex" category: the code and message travel unchanged;
// any other category becomes `unknown` with CAF's rendering).
caf::error to_caf_error(const error& e);
error to_error(caf::actor_system& system, const caf::error& e);

namespace detail {

struct proxy_state {
  std::unordered_map<std::uint64_t, caf::response_promise> pending;
  std::uint64_t last = 0;
};
using proxy_actor = caf::stateful_actor<proxy_state>;

// A caller that holds the node weakly (an actor may outlive it: calls then fail unavailable).
std::shared_ptr<caller> weak_caller(node& n);
caf::actor_system& system_of(node& n);
void deliver(proxy_actor* self, std::uint64_t id, caf::message reply);

// Sends (Atom, request) to `target` and waits for its reply or the call's cancellation.
template <class Atom, class Req, class Resp>
result<Resp> ask_actor(const caf::actor& target, const Req& request, call_context& ctx) {
  struct waiter {
    std::mutex mutex;
    std::condition_variable done;
    std::optional<result<Resp>> outcome;
    void set(result<Resp> r) {
      std::lock_guard<std::mutex> lock(mutex);
      if (!outcome) outcome = std::move(r);
      done.notify_all();
    }
  };
  auto w = std::make_shared<waiter>();
  auto& system = target->home_system();
  ctx.on_cancel([w](const error& reason) { w->set(reason); });
  // The target travels as a spawn argument: CAF 0.17 dereferences a null argument tuple when
  // a function-based actor is spawned without any.
  system.spawn<caf::hidden>(
      [request, w, &system](caf::event_based_actor* self, const caf::actor& to) {
        self->request(to, caf::infinite, Atom::value, request)
            .then([w](Resp& reply) { w->set(std::move(reply)); },
                  [w, &system](caf::error& e) { w->set(to_error(system, e)); });
      },
      target);
  duplex::detail::release_held_sends();  // the actor's answer may need them
  std::unique_lock<std::mutex> lock(w->mutex);
  w->done.wait(lock, [&] { return w->outcome.has_value(); });
  return std::move(*w->outcome);
}

}  // namespace detail

class actor_methods {
 public:
  // The method `info.name` becomes the message (Atom, Req); the actor answers with Resp.
  template <class Atom, class Req, class Resp>
  actor_methods& add(method_info info) {
    entries_.push_back(
        entry{info,
              [info](service& s, const caf::actor& target) {
                s.unary<Req, Resp>(info, [target](const Req& r, call_context& ctx) {
                  return detail::ask_actor<Atom, Req, Resp>(target, r, ctx);
                });
              },
              [name = info.name](detail::proxy_actor* self, std::shared_ptr<caller> via,
                                 const std::string& service, const call_options& defaults) {
                auto method = service + "/" + name;
                return caf::message_handler{
                    [self, via, method, defaults](Atom, const Req& request) {
                      auto promise = self->make_response_promise();
                      auto id = ++self->state.last;
                      self->state.pending.emplace(id, promise);
                      auto me = caf::actor_cast<caf::actor>(self);
                      via->call_async<Resp>(method, request, defaults, [me, id](result<Resp> r) {
                        if (r)
                          caf::anon_send(me, dpx_reply_atom::value, id, std::move(*r));
                        else
                          caf::anon_send(me, dpx_reply_atom::value, id, to_caf_error(r.error()));
                      });
                      return promise;
                    },
                    [self](dpx_reply_atom, std::uint64_t id, Resp& reply) {
                      detail::deliver(self, id, caf::make_message(std::move(reply)));
                    }};
              }});
    return *this;
  }

  // For export_actor() and remote_actor().
  struct entry {
    method_info info;
    std::function<void(service&, const caf::actor&)> export_to;
    std::function<caf::message_handler(detail::proxy_actor*, std::shared_ptr<caller>,
                                       const std::string&, const call_options&)>
        import_from;
  };
  const std::vector<entry>& entries() const { return entries_; }

 private:
  std::vector<entry> entries_;
};

// A service whose methods are messages to `handle`.
service export_actor(std::string name, const caf::actor& handle, const actor_methods& methods,
                     std::string description = {}, std::string version = "1.0.0");

template <class... Sigs>
service export_actor(std::string name, const caf::typed_actor<Sigs...>& handle,
                     const actor_methods& methods, std::string description = {},
                     std::string version = "1.0.0") {
  return export_actor(std::move(name), caf::actor_cast<caf::actor>(handle), methods,
                      std::move(description), std::move(version));
}

// An actor standing for the remote service `service`: it understands the methods' messages
// and answers each with the remote's response (or a caf::error). `defaults` apply to every
// call (deadline, peer, headers).
caf::actor remote_actor(node& n, std::string service, const actor_methods& methods,
                        call_options defaults = {});

}  // namespace duplex::rpc
