#include "duplex/rpc/actors.hpp"

#include "runtime/peer_state.hpp"
#include "runtime/rpc/rpc_state.hpp"

namespace duplex::rpc {

namespace {
const caf::atom_value duplex_category = caf::atom("duplex");
}

caf::error to_caf_error(const error& e) {
  return caf::error(static_cast<std::uint8_t>(e.code), duplex_category,
                    caf::make_message(e.message));
}

error to_error(caf::actor_system& system, const caf::error& e) {
  if (!e) return {};
  if (e.category() == duplex_category) {
    std::string message;
    if (e.context().match_elements<std::string>()) message = e.context().get_as<std::string>(0);
    return {static_cast<errc>(e.code()), std::move(message)};
  }
  return {errc::unknown, "the actor failed: " + system.render(e)};
}

namespace detail {

namespace {

// Calls through a node that may be gone by the time an actor calls.
class node_caller : public caller {
 public:
  explicit node_caller(std::weak_ptr<node_core> core) : core_(std::move(core)) {}

  call_stream open_call(std::string method, call_options options, bool oneway) override {
    auto core = core_.lock();
    if (!core) {
      auto st = std::make_shared<call_state>();
      st->start_error = error{errc::unavailable, "the RPC node is gone"};
      return call_stream(std::move(st));
    }
    auto target = options.peer;
    auto* raw = core.get();
    auto open = [raw, target](std::string service, metadata headers) -> result<channel> {
      if (target.empty()) return raw->peer.open(std::move(service), std::move(headers));
      return raw->peer.open_to(target, std::move(service), std::move(headers));
    };
    return core->start_call(open, std::move(method), std::move(options), oneway, 0);
  }

 private:
  std::weak_ptr<node_core> core_;
};

}  // namespace

std::shared_ptr<caller> weak_caller(node& n) {
  return std::make_shared<node_caller>(n.core().shared_from_this());
}

caf::actor_system& system_of(node& n) {
  return n.local_peer().state().rt->system();
}

void deliver(proxy_actor* self, std::uint64_t id, caf::message reply) {
  auto it = self->state.pending.find(id);
  if (it == self->state.pending.end()) return;
  it->second.deliver(std::move(reply));
  self->state.pending.erase(it);
}

}  // namespace detail

service export_actor(std::string name, const caf::actor& handle, const actor_methods& methods,
                     std::string description, std::string version) {
  service s(std::move(name), std::move(description), std::move(version));
  for (auto& e : methods.entries()) e.export_to(s, handle);
  return s;
}

caf::actor remote_actor(node& n, std::string service, const actor_methods& methods,
                        call_options defaults) {
  auto via = detail::weak_caller(n);
  auto entries = methods.entries();
  // The service name travels as a spawn argument: CAF 0.17 dereferences a null argument tuple
  // when a function-based actor is spawned without any.
  return detail::system_of(n).spawn<caf::hidden>(
      [via, entries, defaults](detail::proxy_actor* self,
                               const std::string& service) -> caf::behavior {
        caf::message_handler handlers{
            [self](dpx_reply_atom, std::uint64_t id, caf::error& failure) {
              auto it = self->state.pending.find(id);
              if (it == self->state.pending.end()) return;
              it->second.deliver(std::move(failure));
              self->state.pending.erase(it);
            }};
        for (auto& e : entries)
          handlers = handlers.or_else(e.import_from(self, via, service, defaults));
        return handlers;
      },
      service);
}

}  // namespace duplex::rpc
