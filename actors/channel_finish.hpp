// Finishing a channel without its actor: a call's channel usually ends both streams by direct
// writes and direct delivery, and its actor has never run. The thread that completes it (the
// writer of its last END, or the transport thread applying the remote's) does what the actor's
// finish would, so that a call costs no actor run and no actor exit.
#pragma once

#include <cstdint>

#include "actors/channel_core.hpp"

namespace duplex::detail {

// For the thread whose claim_finish_locked() succeeded (which reported the finish), after it
// let go of every lock: nested channels' queue closed, writes refused from here, the channel's
// lane released with the connection credit it held (sent on `net`, unless it is gone).
void finish_without_actor(channel_core& core, channel_table& table, transport* net,
                          connection_id conn, std::uint64_t channel,
                          std::uint64_t connection_credit_threshold);

}  // namespace duplex::detail
