// Step 7 of the demo: RPC on top of channels.
#pragma once

#include <duplex/duplex.hpp>

#include "demo/support.hpp"

namespace duplex_demo {

// A typed call with a callback and a deadline from `client` to `server`, and a call the
// other way on the same connection.
void rpc_calls(duplex::peer& client, duplex::peer& server, console& out);

}  // namespace duplex_demo
