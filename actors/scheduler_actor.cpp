#include "actors/scheduler_actor.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "actors/messages.hpp"

namespace duplex::detail {

namespace {

struct scheduler_state {
  std::string owner;               // the peer this scheduler picks for (for diagnostics)
  std::vector<std::string> ready;  // in the order they came up
  std::size_t next = 0;
};

caf::behavior scheduler(caf::stateful_actor<scheduler_state>* self, std::string owner) {
  self->state.owner = std::move(owner);
  return {
      [self](peer_up_atom, const std::string& id) {
        auto& ready = self->state.ready;
        if (std::find(ready.begin(), ready.end(), id) == ready.end()) ready.push_back(id);
      },
      [self](peer_down_atom, const std::string& id) {
        auto& st = self->state;
        auto it = std::find(st.ready.begin(), st.ready.end(), id);
        if (it == st.ready.end()) return;
        auto index = static_cast<std::size_t>(it - st.ready.begin());
        st.ready.erase(it);
        // Keep the rotation where it was: peers after the removed one move down by one.
        if (index < st.next) --st.next;
      },
      [self](next_atom) -> std::string {
        auto& st = self->state;
        if (st.ready.empty()) return {};
        if (st.next >= st.ready.size()) st.next = 0;
        return st.ready[st.next++];
      },
  };
}

}  // namespace

caf::actor spawn_scheduler(caf::actor_system& system, std::string owner_peer_id) {
  return system.spawn<caf::hidden>(scheduler, std::move(owner_peer_id));
}

}  // namespace duplex::detail
