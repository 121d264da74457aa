// Frames that leave together. While a send_batch lives on a thread, what that thread sends
// (channel opens, messages, trailers, ends) is held back and leaves when the batch ends: in
// one piece, so the remote reads it as one batch, and with one wake-up of the
// transport thread instead of one per frame. The RPC layer sends a call's OPEN, request and
// END this way, and a handler's response, trailers and END.
//
// Hold one around writes that follow one another, nothing more. Duplex's own blocking calls
// (a read, a write waiting for credit, bind, connect, a blocking call) let the held frames go
// before they wait. Anything else that waits for the remote while a batch lives (a future of
// call_async, a lock held by a thread that waits for this one) waits for frames that have
// not left. Batches nest; the outermost one's end sends. A batch belongs to its thread: it
// cannot move.
//
// Order: the held frames for a connection keep the place of the batch's first frame there.
// What other threads write to that connection meanwhile leaves after the whole batch, even a
// frame written before the batch's later ones; frames of one thread keep their order.
#pragma once

namespace duplex {

class send_batch {
 public:
  send_batch();
  ~send_batch();
  send_batch(const send_batch&) = delete;
  send_batch& operator=(const send_batch&) = delete;
};

namespace detail {
// Lets this thread's held frames go now (before a wait), sending them on this thread if the
// transport thread sleeps; the batch goes on holding later ones.
void release_held_sends();
}  // namespace detail

}  // namespace duplex
