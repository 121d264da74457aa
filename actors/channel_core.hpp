// What a channel's actor shares with the application's channel handle: the inbound queue the
// actor fills and readers drain, the write gate that holds writers to the credit window, and
// the metadata. The actor owns all protocol state; this is only the hand-off between threads.
#pragma once

#include <caf/actor.hpp>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "actors/handoff_queue.hpp"
#include "actors/lazy_fifo.hpp"
#include "duplex/channel.hpp"
#include "transport/transport.hpp"

namespace duplex::detail {

struct channel_core;
class channel_table;

// One operation on this side's stream, in the order the application issued it.
struct outbound_op {
  // close: end this side if still open, then cancel the remote's side if it has not ended.
  enum class kind { data, end, error, trailers, close };
  kind what = kind::data;
  bytes payload;
  duplex::error status;
  metadata trailers;

  std::size_t cost() const;  // credit it consumes: payload + per-message overhead for data
};

// Where a sent channel's DATA goes: what a writer needs to put it on the connection itself.
struct direct_route {
  std::shared_ptr<transport> net;
  connection_id conn = 0;
  std::uint64_t channel_id = 0;
  std::size_t remote_max_payload = 0;
  // For a writer whose END finishes the channel (channel_core::claim_finish_locked).
  std::shared_ptr<channel_table> table;
  std::uint64_t connection_credit_threshold = 0;
};

// Holds writers to the credit the actor grants (bytes and messages), in FIFO order.
// While the channel waits for a remote peer the grant is the pending-queue bound; once sent,
// the remote's credit window. Operations that fit go to the outbox, in issue order whichever
// thread submits them; the actor takes the whole outbox at once, woken by one out_atom per
// burst rather than one actor message per write.
//
// Once the channel is sent and its stream open, the actor opens the direct route: DATA,
// TRAILERS, END and ERROR that fit while the actor holds nothing of this side's stream (outbox
// empty, nothing taken and not yet sent) are encoded and handed to the transport by the
// writer's own thread, under the gate's lock, so that order holds and a write costs no actor
// hand-off. The actor learns what they did from take_direct(); an END or ERROR closes the
// route. If the remote's stream has ended too, the channel is complete: the writer finishes it
// itself when the actor never ran (channel_core::claim_finish_locked), else wakes the actor;
// otherwise whoever applies the remote's end does.
class write_gate {
 public:
  using completion = std::function<void(result<void>)>;
  enum class outcome { sent, queued, failed };
  struct submission {
    outcome state;
    std::uint64_t ticket = 0;
    duplex::error err;
  };

  write_gate(channel_core* core, std::int64_t bytes, std::int64_t messages)
      : core_(core), bytes_(bytes), messages_(messages) {}

  // may_wait=false: fail with resource_exhausted instead of queueing.
  submission submit(outbound_op op, completion done, const caf::actor& target, bool may_wait);
  // Removes a queued operation (a blocking write that timed out); false if already sent.
  bool withdraw(std::uint64_t ticket);
  // Adds credit (may be negative) and dispatches what now fits.
  void grant(std::int64_t bytes, std::int64_t messages, const caf::actor& target);
  // No more writes: queued and later operations complete with `reason`.
  void fail(duplex::error reason);
  // For the actor, on out_atom: every dispatched operation not taken yet, in order. Until
  // settle(), writes go through the outbox, behind what the actor took.
  std::vector<outbound_op> take_outbox();
  // For the actor: everything it took is sent; `holds_nothing`: nothing waits in the actor
  // either, so writers may use the direct route again.
  void settle(bool holds_nothing);
  // For the actor: writers may send DATA themselves (see above) until close_direct().
  void open_direct(direct_route route);
  void close_direct();
  // For the actor: what direct writes did since the last call.
  struct direct_report {
    std::int64_t cost = 0;  // credit their DATA used
    bool ended = false;     // an END or ERROR went out: this side's stream is done
  };
  direct_report take_direct();

 private:
  struct waiting_op {
    std::uint64_t ticket;
    outbound_op op;
    completion done;
  };
  bool fits(const outbound_op& op) const;
  void dispatch(outbound_op op, const caf::actor& target);
  bool send_direct(const outbound_op& op, const caf::actor& target);

  channel_core* core_;  // the gate's own channel: has the remote's stream ended?
  std::mutex mutex_;
  std::int64_t bytes_;
  std::int64_t messages_;
  lazy_fifo<waiting_op> waiting_;
  std::vector<outbound_op> outbox_;  // dispatched, not yet taken by the actor
  bool actor_holds_ops_ = false;     // taken by the actor, not all sent yet
  std::optional<direct_route> direct_;
  std::optional<direct_route> claimed_;  // set by send_direct: its END finished the channel
  direct_report direct_done_;
  std::uint64_t last_ticket_ = 0;
  std::unique_ptr<duplex::error> failed_;  // a pointer keeps an open channel small
  bool write_closed_ = false;              // an end or error was submitted
  bool trailers_written_ = false;          // only the end may follow
};

// Tells watchers once how the channel ended: ok after both directions ended (END or ERROR),
// otherwise why it was aborted (cancelled, unavailable, a protocol violation).
class finish_signal {
 public:
  using watcher = std::function<void(const duplex::error&)>;
  void fire(duplex::error reason);
  // Runs `w` now, on this thread, if the channel has finished; otherwise on the thread that
  // finishes it.
  void watch(watcher w);
  // As watch(), for a watcher that cares only about a channel that did not finish ok: it is
  // dropped without a call when the channel finishes ok.
  void watch_failure(watcher w);
  bool watched();  // a watcher of every outcome waits

 private:
  void add(watcher w, bool failures_only);

  std::mutex mutex_;
  std::unique_ptr<duplex::error> reason_;  // set once; a pointer keeps an open channel small
  std::vector<watcher> watchers_;
  std::vector<watcher> failure_watchers_;
};

struct channel_ref;

// While one exists on a thread, that thread runs application code on the transport thread (a
// nonblocking handler or read callback): a write that would wait for credit fails with
// resource_exhausted instead.
class nonblocking_scope {
 public:
  nonblocking_scope();
  ~nonblocking_scope();
  nonblocking_scope(const nonblocking_scope&) = delete;
  nonblocking_scope& operator=(const nonblocking_scope&) = delete;
  static bool active();

 private:
  bool outer_;
};

// Consumed bytes are returned as credit in chunks of this size: a quarter of the window, but
// small enough that what is held back never leaves the writer without room for one
// maximum-size message.
std::size_t credit_return_threshold(std::size_t window, std::size_t max_payload);

// The remote's stream as this side receives it: its rules and the credit it has left.
struct receive_state {
  std::int64_t credit = 0;
  bool ended = false;  // END or ERROR arrived, or the channel failed: nothing more is delivered
  bool trailers_received = false;
  // The transport thread may apply the stream's frames itself (see channel_table): set by the
  // channel's actor once attached (a reader's credit needs an attached actor to go back),
  // cleared once an actor reads the channel (subscribe) or the stream is over.
  bool direct = false;
  bool actor_reader = false;  // an actor subscribed: this side's actor applies every frame
  // A channel whose actor never ran is finished by the thread that completes it (see
  // channel_core::claim_finish_locked); its actor, if it ever starts, starts finished.
  bool local_ended_directly = false;  // this side's END or ERROR went out by the direct route
  bool actor_started = false;
  bool actor_needed = false;  // something was sent to the actor that it must handle (cancel)
  bool finished_without_actor = false;
  // Wake-ups the transport thread sent the channel's actor that it has not handled yet: the
  // actor stays alive for them, since they carry readers' callbacks.
  std::uint32_t wakes_in_flight = 0;
};

// What applying one of the remote's stream frames did.
struct applied {
  enum class outcome { accepted, ended, refused };
  outcome what = outcome::accepted;
  duplex::error status;  // ended: ok for END, the ERROR's status; refused: the violation
};

// Payload bytes of one channel's small messages from one received batch: the transport thread
// copies them here in one allocation, and each message stays a slice of it until read.
using payload_slab = std::shared_ptr<std::vector<std::uint8_t>>;

// What a channel's inbox holds: a read's result, or a message still in a slab. Readers turn it
// into a read_result on their own thread (take), so that a message's bytes are allocated and
// freed by the thread that reads it: the transport thread allocates once a batch and channel,
// not once a message (a slab is freed by whichever reader takes its last slice).
struct inbox_item {
  read_result result;
  payload_slab slab;  // set: the message is slab bytes [offset, offset + size)
  std::uint32_t offset = 0;
  std::uint32_t size = 0;

  inbox_item(read_result r) : result(std::move(r)) {}  // NOLINT: results go in as they are
  inbox_item(payload_slab s, std::size_t at, std::size_t n)
      : result(read_result::message({})),
        slab(std::move(s)),
        offset(static_cast<std::uint32_t>(at)),
        size(static_cast<std::uint32_t>(n)) {}

  read_result take() && {
    if (!slab) return std::move(result);
    const auto* start = slab->data() + offset;
    return read_result::message(bytes(start, start + size));
  }
};

struct channel_core {
  channel_core(channel_meta m, const codec* c, std::size_t window, std::size_t pending_bytes,
               std::size_t pending_messages, std::size_t max_payload)
      : meta(std::move(m)),
        payload_codec(c),
        credit_threshold(credit_return_threshold(window, max_payload)),
        max_payload(max_payload),
        gate(this, static_cast<std::int64_t>(pending_bytes),
             static_cast<std::int64_t>(pending_messages)) {
    received.credit = static_cast<std::int64_t>(window);
  }

  mutable std::mutex meta_mutex;
  channel_meta meta;  // guarded by meta_mutex
  const codec* payload_codec;

  handoff_queue<inbox_item> inbox;
  // Held while a stream frame is applied and its message handed to the inbox, by the actor or
  // the transport thread: so that what one checked cannot change before the other delivers.
  // Taken before inbox's lock and meta_mutex, never after.
  mutable std::mutex receive_mutex;
  receive_state received;  // guarded by receive_mutex

  // Applies a DATA, TRAILERS, END or ERROR frame of the remote's stream (the caller holds
  // receive_mutex): a message is appended to `arrived` (a borrowed payload copied into `slab`,
  // which has room for it), trailers go to meta. A refused frame changes nothing, so that
  // whoever applies it next finds the same violation.
  applied apply_locked(wire::frame& f, std::vector<inbox_item>& arrived,
                       const payload_slab& slab = nullptr);
  bool remote_ended() const {
    std::lock_guard<std::mutex> lock(receive_mutex);
    return received.ended;
  }
  // Under receive_mutex, by the thread that ended the second of the two streams directly:
  // true if that thread is to finish the channel itself (finish_without_actor), which it may
  // when the channel's actor never ran and nothing waits for it (no message for it, no wake-up
  // in flight, no reading actor, no on_finish watcher, no nested-channel reader); false: the
  // actor finishes it, as it always did. The finish is reported (ok) here.
  bool claim_finish_locked();
  // Before sending the channel's actor something it must act on (cancel, drop, a handler's
  // failure, the actor face): the channel then finishes through the actor.
  void actor_needed();
  bool finished_without_actor() const {
    std::lock_guard<std::mutex> lock(receive_mutex);
    return received.finished_without_actor;
  }
  std::atomic<std::size_t> consumed{0};  // bytes read but not yet returned as credit
  const std::size_t credit_threshold;
  const std::size_t max_payload;

  write_gate gate;
  finish_signal finished;
  // Set while a handler-pool thread runs a handler with this channel, so that a handle
  // destroyed by an exception leaves the error report to the pool.
  std::atomic<bool> in_handler{false};

  // Returns credit to hand back to the remote now (0: not yet worth a CREDIT frame).
  std::size_t note_consumed(const read_result& item);
  // For a reader, with what it took from the inbox: hands consumed bytes back as credit when
  // due (the channel's window and the connection's), from this thread when the channel knows
  // where it lives (`home`), otherwise through `actor`.
  void consume(const read_result& item, const caf::actor& actor);
  // Where a channel made already attached lives (channel_opener.cpp), under receive_mutex:
  // what a reader needs to return credit without the channel's actor.
  std::optional<direct_route> home;
  // Where a blocked reader may read the channel's messages off the socket itself: known when
  // the channel lives on a connection and its messages are applied as they arrive (not by its
  // actor).
  std::optional<read_source> where_to_read() const;

  // Channels the remote opened inside this one, for accept_nested(); nullptr as terminal.
  // Made on first use (under meta_mutex): most channels never have nested ones.
  using nested_queue = handoff_queue<std::shared_ptr<channel_ref>>;
  nested_queue& nested();
  // The channel finished: readers of nested() get the terminal, now or when they first look.
  void close_nested();

  channel_meta meta_copy() const {
    std::lock_guard<std::mutex> lock(meta_mutex);
    return meta;
  }

 private:
  std::unique_ptr<nested_queue> nested_;  // guarded by meta_mutex
  bool nested_closed_ = false;            // guarded by meta_mutex
};

// A channel as the peer actor and handles pass it around: its shared core and its actor.
struct channel_ref {
  std::shared_ptr<channel_core> core;
  caf::actor actor;
};

}  // namespace duplex::detail
