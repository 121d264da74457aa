// The actor face: peers and channels are CAF actors; CAF applications talk to them with these
// messages. Nothing here blocks a CAF worker.
//
// To a peer actor (peer::actor()):
//   (open_atom, std::string service, metadata headers)  -> caf::actor  (the new channel)
//   (serve_atom, std::string service, caf::actor acceptor)
//       incoming channels for `service` go to `acceptor` as
//       (channel_atom, caf::actor channel, std::string service, metadata headers)
// To a channel actor (channel::actor() or one received above):
//   (subscribe_atom, caf::actor reader)   the remote's stream goes to `reader` as
//       (data_atom, caf::actor channel, bytes payload)  -- a request: the credit window
//                                                          reopens when the reader answers
//       (end_atom, caf::actor channel, metadata trailers)
//       (error_atom, caf::actor channel, std::uint32_t code, std::string message)
//   (write_atom, bytes payload)            -> unit once queued within the credit window
//                                             (the response waits while the window is full)
//   (end_atom)                             ends this side's stream
//   (error_atom, std::uint32_t code, std::string message)
//   (trailers_atom, metadata trailers)
//   (cancel_atom)                          aborts both directions
#pragma once

#include <caf/all.hpp>

#include "duplex/bytes.hpp"

namespace duplex {

using open_atom = caf::atom_constant<caf::atom("dpx_open")>;
using serve_atom = caf::atom_constant<caf::atom("dpx_serve")>;
using channel_atom = caf::atom_constant<caf::atom("dpx_chan")>;
using subscribe_atom = caf::atom_constant<caf::atom("dpx_sub")>;
using data_atom = caf::atom_constant<caf::atom("dpx_data")>;
using end_atom = caf::atom_constant<caf::atom("dpx_end")>;
using error_atom = caf::atom_constant<caf::atom("dpx_error")>;
using write_atom = caf::atom_constant<caf::atom("dpx_write")>;
using trailers_atom = caf::atom_constant<caf::atom("dpx_trail")>;
using cancel_atom = caf::atom_constant<caf::atom("dpx_cancel")>;

}  // namespace duplex
