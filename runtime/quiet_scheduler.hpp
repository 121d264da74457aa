// CAF's work-stealing (or work-sharing) scheduler with a clock that is told only about actors
// that set timeouts. CAF 0.17 tells its clock thread about every actor that exits
// (cancel_timeouts), which wakes that thread twice per exit: with a short-lived actor per
// channel that was a quarter of a call's thread switches. Timeouts and delayed messages work
// exactly as before.
#pragma once

#include <caf/actor_system_config.hpp>

namespace duplex::detail {

// Makes the actor system built from `config` use the quiet scheduler, with the policy that
// "scheduler.policy" names when the system is made.
void use_quiet_scheduler(caf::actor_system_config& config);

}  // namespace duplex::detail
