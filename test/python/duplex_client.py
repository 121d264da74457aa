"""A small Duplex wire-protocol client, written from docs/PROTOCOL.md (version 1.0) alone.

It connects a ZeroMQ DEALER to a Duplex peer that binds (a ROUTER), exchanges HELLO, opens
channels (odd ids), sends and receives the channel frames, and keeps per-channel credit as the
protocol's flow control asks. It is single-threaded: nothing happens in the background;
frames are read whenever the application waits for something (`Connection.poll`,
`Channel.recv`, `Channel.send` waiting for credit, `Connection.ping`, ...).

    conn = Connection("tcp://127.0.0.1:5555")
    conn.hello()
    ch = conn.open("echo")
    ch.send(b"hi")
    ch.end()
    ch.recv()   # Event("data", payload=b"hi")
    ch.recv()   # Event("end")
    conn.close()

RPC (§11) is a convention on top of channels:

    conn.call_unary("calc/add", {"a": 2, "b": 40}, timeout_ms=500)   # {"sum": 42}
    for reply in conn.call_server_stream("count/up", {"n": 3}):      # {"i": 0}, {"i": 1}, ...
        ...

A call that ends with a status other than ok raises RpcError (code, message, trailers).

Requires python3-zmq and python3-msgpack.
"""

import contextlib
import json
import math
import os
import time
import uuid

import msgpack
import zmq

VERSION_MAJOR = 1
VERSION_MINOR = 0

# Frame kinds (§2).
HELLO, OPEN, DATA, END, ERROR, TRAILERS, CANCEL, CREDIT, PING, PONG, BYE = range(1, 12)
KIND_NAMES = {
    HELLO: "HELLO", OPEN: "OPEN", DATA: "DATA", END: "END", ERROR: "ERROR",
    TRAILERS: "TRAILERS", CANCEL: "CANCEL", CREDIT: "CREDIT", PING: "PING", PONG: "PONG",
    BYE: "BYE",
}

# Status codes (§7): gRPC's numbers.
OK, CANCELLED, UNKNOWN, INVALID_ARGUMENT, DEADLINE_EXCEEDED, NOT_FOUND, ALREADY_EXISTS, \
    PERMISSION_DENIED, RESOURCE_EXHAUSTED, FAILED_PRECONDITION, ABORTED, OUT_OF_RANGE, \
    UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS, UNAUTHENTICATED = range(17)
STATUS_NAMES = (
    "ok", "cancelled", "unknown", "invalid_argument", "deadline_exceeded", "not_found",
    "already_exists", "permission_denied", "resource_exhausted", "failed_precondition", "aborted",
    "out_of_range", "unimplemented", "internal", "unavailable", "data_loss", "unauthenticated")

# A DATA frame costs its payload plus this much credit (§5).
MESSAGE_OVERHEAD = 16
# The smallest window a HELLO may announce (§3).
MIN_WINDOW = 17
# Senders start a new batch once one exceeds this (§1; what the C++ peer does).
BATCH_LIMIT = 256 << 10

# Minimum number of elements of each known frame kind (§2), and the type of each element
# after [kind, channel]: "int", "str", "bin" or "map".
LAYOUTS = {
    HELLO: ("int", "int", "str", "str", "int", "int"),
    OPEN: ("int", "str", "map"),
    DATA: ("bin",),
    END: (),
    ERROR: ("int", "str"),
    TRAILERS: ("map",),
    CANCEL: ("int", "str"),
    CREDIT: ("int",),
    PING: ("int",),
    PONG: ("int",),
    BYE: ("int", "str"),
}
CONNECTION_KINDS = (HELLO, PING, PONG, BYE)  # frames on channel 0


class ProtocolError(Exception):
    """The remote broke the protocol (a connection error in the spec's terms)."""


class Timeout(Exception):
    """A bounded wait ran out."""


class ConnectionClosed(Exception):
    """The connection ended with BYE (sent or received)."""


class RpcError(Exception):
    """A call ended with a status other than ok (§11, "Status")."""

    def __init__(self, code, message, trailers=None):
        super().__init__("%s (%d): %s" % (STATUS_NAMES[status(code)], code, message))
        self.code = code
        self.message = message
        self.trailers = trailers or {}  # the callee's TRAILERS, if it sent any


# ---------------------------------------------------------------------------------------------
# Encoding and decoding (§1, §2)


def encode_frame(frame):
    """One frame (a list) to msgpack bytes: Python str -> msgpack str, bytes -> msgpack bin."""
    return msgpack.packb(frame, use_bin_type=True)


def encode_batch(frames):
    """Several frames back to back: the body of one ZeroMQ message."""
    return b"".join(encode_frame(f) for f in frames)


def metadata(mapping):
    """A metadata map for the wire: str keys, bin values (str values are UTF-8 encoded)."""
    out = {}
    for key, value in (mapping or {}).items():
        if not isinstance(key, str):
            raise TypeError("metadata keys are str, got %r" % (key,))
        out[key] = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    return out


def _check_element(frame, index, expected):
    value = frame[index]
    if expected == "int":
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    elif expected == "str":
        ok = isinstance(value, str)
    elif expected == "bin":
        ok = isinstance(value, bytes)
    else:  # map from str to bin (str values are accepted too)
        ok = isinstance(value, dict) and all(
            isinstance(k, str) and isinstance(v, (bytes, str)) for k, v in value.items())
    if not ok:
        raise ProtocolError("%s frame: element %d should be %s, got %r"
                            % (KIND_NAMES[frame[0]], index, expected, value))


def check_frame(frame):
    """Validates one decoded frame against §2; raises ProtocolError when malformed.

    Unknown kinds and extra trailing elements are allowed (compatible additions).
    """
    if not isinstance(frame, list) or len(frame) < 2:
        raise ProtocolError("a frame is an array [kind, channel, ...], got %r" % (frame,))
    for value in frame[:2]:
        if not (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
            raise ProtocolError("kind and channel are non-negative integers: %r" % (frame,))
    layout = LAYOUTS.get(frame[0])
    if layout is None:
        return frame
    if len(frame) < 2 + len(layout):
        raise ProtocolError("%s frame with %d elements, needs %d: %r"
                            % (KIND_NAMES[frame[0]], len(frame), 2 + len(layout), frame))
    for offset, expected in enumerate(layout):
        _check_element(frame, 2 + offset, expected)
    return frame


def decode_batch(body, max_payload=4 << 20, header_limit=64 << 10):
    """Splits the body of one ZeroMQ message into its frames (a list of lists).

    Decodes with limits like the C++ peer's (§6). Raises ProtocolError if the body is empty,
    does not decode completely or holds a malformed frame.
    """
    if not body:
        raise ProtocolError("empty batch")
    unpacker = msgpack.Unpacker(
        raw=False, use_list=True, strict_map_key=True,
        max_buffer_size=max(len(body), 1),
        max_array_len=16, max_map_len=4096, max_ext_len=0,
        max_bin_len=2 * max_payload + (64 << 10),
        max_str_len=2 * header_limit + 1024)
    unpacker.feed(body)
    frames = []
    used = 0  # bytes of complete frames (tell() after the loop also counts a partial one)
    try:
        for frame in unpacker:
            frames.append(check_frame(frame))
            used = unpacker.tell()
    except ProtocolError:
        raise
    except Exception as exc:  # msgpack's own errors, invalid UTF-8, limits
        raise ProtocolError("batch does not decode: %s" % exc) from exc
    if used != len(body):
        raise ProtocolError("batch does not decode completely: %d of %d bytes used"
                            % (used, len(body)))
    return frames


def status(code):
    """A wire status code as a known code: numbers outside 0..16 become UNKNOWN (§7)."""
    return code if 0 <= code <= UNAUTHENTICATED else UNKNOWN


def describe(frame):
    """A short human-readable form of a frame, for logs and failure messages."""
    name = KIND_NAMES.get(frame[0], "kind%d" % frame[0])
    return "%s%r" % (name, frame[1:])


# ---------------------------------------------------------------------------------------------
# Channels (§4, §5)


class Event:
    """What a channel delivers to its reader, in order.

    kind: "data" (payload), "trailers" (trailers), "end", "error" (code, message) or
    "cancel" (code, message: the channel was cancelled, by the remote or locally).
    """

    def __init__(self, kind, payload=None, code=None, message=None, trailers=None):
        self.kind = kind
        self.payload = payload
        self.code = code
        self.message = message
        self.trailers = trailers

    def __repr__(self):
        if self.kind == "data":
            return "Event(data, %d bytes: %r)" % (len(self.payload), self.payload[:40])
        if self.kind == "trailers":
            return "Event(trailers, %r)" % (self.trailers,)
        if self.kind in ("error", "cancel"):
            return "Event(%s, code=%d, message=%r)" % (self.kind, self.code, self.message)
        return "Event(%s)" % self.kind


class Channel:
    """One channel this client opened. Create with Connection.open()."""

    def __init__(self, conn, channel_id, service, headers):
        self.conn = conn
        self.id = channel_id
        self.service = service
        self.headers = headers
        self.events = []               # delivered but not yet read by the application
        self.trailers = None           # the remote's trailers, once received
        # Our stream (what we write).
        self.send_credit = conn.remote_window  # the remote reader's window (§5)
        self.sent_messages = 0
        self.sent_trailers = False
        self.send_ended = False
        # The remote's stream (what we read).
        self.recv_credit = conn.window     # what the remote may still send us
        self.unreturned = 0                # consumed by the application, not yet credited
        self.received_messages = 0
        self.received_trailers = False
        self.recv_ended = False
        # Statistics and checks, for tests.
        self.credit_frames = 0             # CREDIT frames received
        self.credit_received = 0           # bytes of credit received
        self.credit_returned = 0           # bytes of credit we sent back
        self.max_outstanding = 0           # most bytes of credit in use by the remote at once
        # Once cancelled: (code, message, True) for a CANCEL from the remote, (code, message,
        # False) when cancelled locally or failed because the connection ended.
        self.cancelled = None
        self.violations = []               # remote protocol violations on this channel

    # ---- state ----

    @property
    def closed(self):
        return self.cancelled is not None or (self.send_ended and self.recv_ended)

    def _maybe_forget(self):
        if self.closed:
            self.conn._forget(self)

    def _check_writable(self):
        if self.cancelled is not None:
            raise ConnectionClosed("channel %d was cancelled: %r" % (self.id, self.cancelled))
        if self.send_ended:
            raise ProtocolError("channel %d: our stream already ended" % self.id)
        self.conn._check_open()

    # ---- writing our stream ----

    def send(self, payload, timeout=5.0):
        """Sends one message, first waiting (up to `timeout`) for enough credit."""
        payload = bytes(payload)
        self._check_writable()
        if self.sent_trailers:
            raise ProtocolError("channel %d: DATA after TRAILERS" % self.id)
        if len(payload) > self.conn.remote_max_payload:
            raise ValueError("payload of %d bytes exceeds the remote's limit of %d bytes"
                             % (len(payload), self.conn.remote_max_payload))
        cost = len(payload) + MESSAGE_OVERHEAD
        deadline = time.monotonic() + timeout
        def has_credit():
            conn_credit = self.conn.connection_credit
            return self.send_credit >= cost and (conn_credit is None or conn_credit >= cost)
        if not has_credit():
            self.conn.flush()  # frames queued by an enclosing batch() must not wait with us
        while not has_credit():
            if self.cancelled is not None:
                raise ConnectionClosed("channel %d was cancelled while waiting for credit: %r"
                                       % (self.id, self.cancelled))
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Timeout("channel %d: no credit for %d bytes after %.1f s (have %d)"
                              % (self.id, cost, timeout, self.send_credit))
            self.conn.poll(remaining)
        self.send_credit -= cost
        if self.conn.connection_credit is not None:
            self.conn.connection_credit -= cost
        self.sent_messages += 1
        self.conn.send_frame([DATA, self.id, payload])

    def send_trailers(self, trailers):
        """Sends TRAILERS (at most once, before END/ERROR)."""
        self._check_writable()
        if self.sent_trailers:
            raise ProtocolError("channel %d: TRAILERS twice" % self.id)
        self.sent_trailers = True
        self.conn.send_frame([TRAILERS, self.id, metadata(trailers)])

    def end(self):
        """Ends our stream cleanly (half-close)."""
        self._check_writable()
        self.send_ended = True
        self.conn.send_frame([END, self.id])
        self._maybe_forget()

    def error(self, code, message):
        """Ends our stream with an error."""
        self._check_writable()
        self.send_ended = True
        self.conn.send_frame([ERROR, self.id, code, message])
        self._maybe_forget()

    def cancel(self, code=CANCELLED, message="cancelled"):
        """Aborts both directions; the remote never answers a CANCEL."""
        if self.cancelled is not None:
            return
        self.cancelled = (code, message, False)
        self.conn.send_frame([CANCEL, self.id, code, message])
        self.events.append(Event("cancel", code=code, message=message))
        self._maybe_forget()

    # ---- reading the remote's stream ----

    def recv(self, timeout=5.0):
        """The next Event, waiting up to `timeout`. Reading a "data" event consumes it, which
        gives its credit back to the remote (in chunks, see _consumed)."""
        deadline = time.monotonic() + timeout
        while not self.events:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Timeout("channel %d (%s): nothing received within %.1f s"
                              % (self.id, self.service, timeout))
            self.conn.poll(remaining)
        event = self.events.pop(0)
        if event.kind == "data":
            self._consumed(len(event.payload) + MESSAGE_OVERHEAD)
        return event

    def recv_all(self, timeout=5.0):
        """Reads until END, ERROR or CANCEL; returns (messages, last event)."""
        messages = []
        deadline = time.monotonic() + timeout
        while True:
            event = self.recv(max(deadline - time.monotonic(), 0.0))
            if event.kind == "data":
                messages.append(event.payload)
            elif event.kind != "trailers":
                return messages, event

    def _consumed(self, cost):
        """The application consumed a message: return credit once enough has accumulated.

        Like the C++ peer, credit goes back in chunks of a quarter window; the chunk is made
        smaller when the window is so small that waiting for a quarter could leave the remote
        without room for one maximum-size message.
        """
        if self.recv_ended or self.cancelled is not None:
            return
        self.unreturned += cost
        window = self.conn.window
        largest = self.conn.max_payload + MESSAGE_OVERHEAD
        chunk = max(1, min(window // 4, window - largest + 1))
        if self.unreturned >= chunk:
            self.give_credit(self.unreturned)

    def give_credit(self, amount):
        """Sends CREDIT for `amount` bytes now."""
        self.unreturned = max(0, self.unreturned - amount)
        self.recv_credit += amount
        self.credit_returned += amount
        self.conn.send_frame([CREDIT, self.id, amount])

    # ---- frames from the remote ----

    def _violation(self, reason, code=INTERNAL):
        """A channel error (§4): CANCEL this channel only."""
        self.violations.append(reason)
        self.conn.violations.append("channel %d: %s" % (self.id, reason))
        self.cancel(code, reason)

    def _on_frame(self, frame):
        kind = frame[0]
        if kind == CREDIT:
            self.credit_frames += 1
            self.credit_received += frame[2]
            self.send_credit += frame[2]
            return
        if kind == CANCEL:
            self.cancelled = (status(frame[2]), frame[3], True)
            self.events.append(Event("cancel", code=status(frame[2]), message=frame[3]))
            self._maybe_forget()
            return
        if kind not in (DATA, TRAILERS, END, ERROR):
            return  # OPEN on an existing id is handled by the connection
        if self.recv_ended:
            self._violation("%s after the end of the stream" % KIND_NAMES[kind])
            return
        if kind == DATA:
            payload = frame[2]
            cost = len(payload) + MESSAGE_OVERHEAD
            if self.received_trailers:
                self._violation("DATA after TRAILERS")
                return
            if len(payload) > self.conn.max_payload:
                self._violation("payload of %d bytes exceeds the limit of %d bytes"
                                % (len(payload), self.conn.max_payload), RESOURCE_EXHAUSTED)
                return
            if cost > self.recv_credit:
                self._violation("DATA costing %d bytes with only %d bytes of credit left"
                                % (cost, self.recv_credit), RESOURCE_EXHAUSTED)
                return
            self.recv_credit -= cost
            self.max_outstanding = max(self.max_outstanding, self.conn.window - self.recv_credit)
            self.received_messages += 1
            self.events.append(Event("data", payload=payload))
        elif kind == TRAILERS:
            if self.received_trailers:
                self._violation("TRAILERS twice")
                return
            self.received_trailers = True
            self.trailers = metadata(frame[2])
            self.events.append(Event("trailers", trailers=self.trailers))
        elif kind == END:
            self.recv_ended = True
            self.events.append(Event("end"))
            self._maybe_forget()
        else:  # ERROR
            self.recv_ended = True
            self.events.append(Event("error", code=status(frame[2]), message=frame[3]))
            self._maybe_forget()


# ---------------------------------------------------------------------------------------------
# RPC (§11): a call is a top-level channel named "service/method".

MSGPACK_CONTENT_TYPE = "application/msgpack"
JSON_CONTENT_TYPE = "application/json"


def encode_payload(value, content_type=MSGPACK_CONTENT_TYPE):
    """A typed value to the call's codec (§4 content-type): msgpack maps, or JSON text."""
    if content_type == JSON_CONTENT_TYPE:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return msgpack.packb(value, use_bin_type=True)


def decode_payload(payload, content_type=MSGPACK_CONTENT_TYPE):
    if content_type == JSON_CONTENT_TYPE:
        return json.loads(payload.decode("utf-8"))
    return msgpack.unpackb(payload, raw=False)


def status_from_trailers(trailers):
    """(code, message) from duplex-status / duplex-message; an absent status is ok."""
    raw_code = trailers.get("duplex-status", b"0")
    message = trailers.get("duplex-message", b"").decode("utf-8", "replace")
    text = raw_code.decode("ascii", "replace")
    if not text.isdigit():  # not a decimal status: the callee broke §11
        return UNKNOWN, "malformed duplex-status %r: %s" % (raw_code, message)
    return status(int(text)), message


class Call:
    """One call from this client: its channel, codec, deadline and, once known, its status.

    Create with Connection.call(). Waits end at the call's deadline (then the call fails with
    deadline_exceeded and is cancelled) or, without a deadline, after `wait` seconds for any
    one response (then Timeout).
    """

    def __init__(self, conn, method, timeout_ms=None, headers=None, content_type=None,
                 oneway=False, wait=5.0):
        if "/" not in method:
            raise ValueError("a method is named \"service/method\", got %r" % method)
        headers = dict(headers or {})
        if content_type is not None:
            headers["content-type"] = content_type
        given_type = headers.get("content-type", MSGPACK_CONTENT_TYPE)
        self.content_type = given_type.decode() if isinstance(given_type, bytes) else given_type
        if timeout_ms is not None:
            if timeout_ms <= 0:
                raise RpcError(DEADLINE_EXCEEDED, "the deadline passed before the call started")
            headers["duplex-timeout"] = str(math.ceil(timeout_ms))  # remaining, rounded up
        if oneway:
            headers["duplex-oneway"] = "1"
        self.method = method
        self.timeout_ms = timeout_ms
        self.deadline = None if timeout_ms is None else time.monotonic() + timeout_ms / 1000.0
        self.wait = wait
        self.trailers = {}
        self.status = None  # (code, message) once the callee's stream ended
        self.channel = conn.open(method, headers)

    def _expired(self):
        return self.deadline is not None and time.monotonic() >= self.deadline

    def _time_left(self):
        if self.deadline is None:
            return self.wait
        return max(0.0, self.deadline - time.monotonic())

    def _give_up(self):
        """A wait ran out: at our deadline the call failed, otherwise the caller stops waiting.
        Either way the callee is told with CANCEL cancelled."""
        if not self.channel.closed:
            self.channel.cancel(CANCELLED, "the caller stopped waiting")
        if self._expired():
            self.status = (DEADLINE_EXCEEDED, "the deadline of %s ms passed" % self.timeout_ms)
            raise RpcError(*self.status)
        raise Timeout("%s: no answer within %.1f s" % (self.method, self.wait))

    # ---- the caller's stream ----

    def send(self, value):
        """Sends one request message, waiting for credit (§5) until the deadline."""
        try:
            self.channel.send(encode_payload(value, self.content_type), self._time_left())
        except Timeout:
            self._give_up()

    def end(self):
        self.channel.end()

    # ---- the callee's stream ----

    def next_event(self):
        """The callee's next Event (data, trailers, end, error or cancel), within the wait."""
        try:
            return self.channel.recv(self._time_left())
        except Timeout:
            self._give_up()

    def responses(self):
        """Yields each decoded response in order; at the end raises RpcError unless the status
        is ok. Stopping early cancels the call."""
        try:
            while True:
                event = self.next_event()
                if event.kind == "data":
                    yield decode_payload(event.payload, self.content_type)
                elif event.kind == "trailers":
                    self.trailers = event.trailers
                else:
                    self._finish(event)
                    return
        finally:
            if not self.channel.closed:
                self.channel.cancel(CANCELLED, "the caller stopped reading")

    def _finish(self, event):
        """The callee's stream ended: its status comes from ERROR (or CANCEL), else from the
        trailers."""
        if event.kind == "end":
            self.status = status_from_trailers(self.trailers)
        elif event.kind == "cancel" and self._expired():
            # Aborted after our deadline: the call failed at the deadline (the callee, whose
            # deadline comes later, may have cancelled it at its own).
            self.status = (DEADLINE_EXCEEDED, "the deadline of %s ms passed (then %s)"
                           % (self.timeout_ms, event.message))
        else:  # "error" or "cancel"
            self.status = (event.code, event.message)
        if self.status[0] != OK:
            raise RpcError(self.status[0], self.status[1], self.trailers)


# ---------------------------------------------------------------------------------------------
# Connections (§1, §3)


class Connection:
    """One DEALER connection to a binding Duplex peer."""

    def __init__(self, endpoint, peer_id=None, session_id=None, window=8 << 20,
                 max_payload=4 << 20, context=None, log=None):
        if window < MIN_WINDOW or window < max_payload + MESSAGE_OVERHEAD:
            raise ValueError("window must be at least max(17, max_payload + 16)")
        self.endpoint = endpoint
        self.peer_id = peer_id or "py-%d-%s" % (os.getpid(), uuid.uuid4().hex[:8])
        self.session_id = session_id or uuid.uuid4().hex
        self.window = window
        self.max_payload = max_payload
        self.log = log                     # callable(str) or None
        self.context = context or zmq.Context.instance()
        self.socket = self.context.socket(zmq.DEALER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.connect(endpoint)
        # What the remote's HELLO said.
        self.remote = None                 # dict with the HELLO fields
        self.remote_window = None
        self.connection_credit = None      # None: the remote announced no connection window
        self.remote_max_payload = None
        self.channels = {}                 # open channels by id
        self.used_ids = set()              # every id opened on this connection, by either side
        self.next_id = 1                   # odd ids for the connecting side (§4)
        self.highest_remote_id = 0
        self.pongs = []                    # nonces of PONGs received
        self.bye = None                    # (code, message) of a BYE received
        self.bye_sent = None               # (code, message) of a BYE we sent
        self.stray = []                    # frames for ids that are no longer open (ignored)
        self.unknown = []                  # frames for ids never opened on this connection
        self.violations = []               # remote protocol violations seen
        self.batches = 0                   # ZeroMQ messages received
        self.frames = 0                    # frames received
        self.largest_batch = 0             # most frames in one ZeroMQ message
        self._out = []                     # frames queued for the next batch
        self._batching = 0

    # ---- sending ----

    def send_frame(self, frame):
        """Queues one frame; sent at once unless inside `with conn.batch():`."""
        self._out.append(frame)
        if not self._batching:
            self.flush()

    @contextlib.contextmanager
    def batch(self):
        """Frames sent inside the block go out together in as few ZeroMQ messages as allowed."""
        self._batching += 1
        try:
            yield self
        finally:
            self._batching -= 1
            if not self._batching:
                self.flush()

    def flush(self):
        """Sends the queued frames, starting a new batch once one exceeds BATCH_LIMIT."""
        frames, self._out = self._out, []
        parts, size = [], 0
        for frame in frames:
            encoded = encode_frame(frame)
            parts.append(encoded)
            size += len(encoded)
            if self.log:
                self.log("C->S %s" % describe(frame))
            if size > BATCH_LIMIT:
                self.send_raw(b"".join(parts))
                parts, size = [], 0
        if parts:
            self.send_raw(b"".join(parts))

    def send_raw(self, body):
        """Sends bytes as one ZeroMQ message, as they are (tests use it for malformed input)."""
        self.socket.send(body, copy=True)

    # ---- receiving ----

    def recv_batch(self, timeout):
        """One ZeroMQ message decoded into frames, or None after `timeout` seconds."""
        if not self.socket.poll(max(0, int(timeout * 1000)), zmq.POLLIN):
            return None
        parts = self.socket.recv_multipart()
        try:
            if len(parts) != 1:
                raise ProtocolError("multi-part message (%d parts)" % len(parts))
            frames = decode_batch(parts[0], self.max_payload)
        except ProtocolError as exc:  # a connection error: BYE internal, then tell the caller
            if self.bye_sent is None:
                self._connection_error(str(exc))
            raise
        self.batches += 1
        self.frames += len(frames)
        self.largest_batch = max(self.largest_batch, len(frames))
        return frames

    def poll(self, timeout=0.0):
        """Reads and handles at most one batch, waiting up to `timeout` s; True if one came."""
        frames = self.recv_batch(timeout)
        if frames is None:
            return False
        for frame in frames:
            if self.log:
                self.log("S->C %s" % describe(frame))
            self._dispatch(frame)
        return True

    def drain(self, duration):
        """Handles everything that arrives during `duration` seconds."""
        deadline = time.monotonic() + duration
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self.poll(remaining)

    def wait_for(self, condition, timeout=5.0, what="condition"):
        """Reads frames until condition() is true; Timeout after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Timeout("%s not reached within %.1f s" % (what, timeout))
            self.poll(remaining)

    def _dispatch(self, frame):
        kind, channel_id = frame[0], frame[1]
        if self.bye_sent is not None or self.bye is not None:
            self.stray.append(frame)  # everything after a BYE is ignored (§3)
            return
        if kind not in LAYOUTS:
            return  # unknown kinds are ignored (§2)
        if kind in CONNECTION_KINDS:
            if channel_id != 0:
                self._connection_error("%s on channel %d" % (KIND_NAMES[kind], channel_id))
            elif kind == HELLO:
                self._on_hello(frame)
            elif kind == PING:  # allowed any time after the ZMTP handshake (§3)
                self.send_frame([PONG, 0, frame[2]])
            elif kind == PONG:
                self.pongs.append(frame[2])
            else:  # BYE
                self.bye = (status(frame[2]), frame[3])
                self._fail_all(UNAVAILABLE, "connection closed by BYE %d: %s" % self.bye)
            return
        if self.remote is None:
            self._connection_error("%s before HELLO" % KIND_NAMES[kind])
            return
        if kind == CREDIT and channel_id == 0:  # the connection window reopens (§5)
            if self.connection_credit is not None:
                self.connection_credit += frame[2]
            return
        if channel_id == 0:
            self._connection_error("%s on channel 0" % KIND_NAMES[kind])
            return
        if kind == OPEN:
            self._on_open(frame)
            return
        channel = self.channels.get(channel_id)
        if channel is not None:
            channel._on_frame(frame)
        elif channel_id in self.used_ids:
            self.stray.append(frame)  # trails a channel that ended: ignored (§4)
        else:
            self.unknown.append(frame)
            if kind != CANCEL:  # CANCEL is never answered
                self.send_frame([CANCEL, channel_id, INTERNAL, "unknown channel"])

    def _on_hello(self, frame):
        if self.remote is not None:
            self._connection_error("HELLO twice")
            return
        major, minor, peer_id, session_id, window, max_payload = frame[2:8]
        self.remote = {"version_major": major, "version_minor": minor, "peer_id": peer_id,
                       "session_id": session_id, "window": window, "max_payload": max_payload}
        if major != VERSION_MAJOR:
            self.send_bye(FAILED_PRECONDITION, "protocol version %d.%d is not supported by "
                          "version %d.%d" % (major, minor, VERSION_MAJOR, VERSION_MINOR))
        elif not peer_id or not session_id or window < MIN_WINDOW:
            self.send_bye(INTERNAL, "bad HELLO")
        elif peer_id == self.peer_id:
            self.send_bye(ALREADY_EXISTS, "the remote uses our peer id")
        else:
            self.remote_window = window
            self.remote_max_payload = max_payload
            # Optional 9th field: the remote's connection window (§3, §5).
            if len(frame) > 8 and isinstance(frame[8], int) and frame[8] > 0:
                self.connection_credit = frame[8]
                self.remote["connection_window"] = frame[8]

    def _on_open(self, frame):
        # This client serves no services: every channel the remote opens is refused (§4).
        channel_id = frame[1]
        if channel_id % 2 != 0 or channel_id <= self.highest_remote_id:
            self.send_frame([CANCEL, channel_id, INTERNAL, "bad channel id %d" % channel_id])
            return
        self.highest_remote_id = channel_id
        self.used_ids.add(channel_id)
        self.send_frame([CANCEL, channel_id, UNIMPLEMENTED,
                         "no service '%s' at peer '%s'" % (frame[3], self.peer_id)])

    def _connection_error(self, reason):
        self.violations.append(reason)
        self.send_bye(INTERNAL, reason)

    def _fail_all(self, code, message):
        for channel in list(self.channels.values()):
            channel.cancelled = (code, message, False)
            channel.events.append(Event("cancel", code=code, message=message))
        self.channels.clear()

    def _forget(self, channel):
        self.channels.pop(channel.id, None)

    def _check_open(self):
        if self.bye is not None:
            raise ConnectionClosed("the remote sent BYE %d: %s" % self.bye)
        if self.bye_sent is not None:
            raise ConnectionClosed("we sent BYE %d: %s" % self.bye_sent)
        if self.remote_window is None:
            raise ProtocolError("the connection is not ready (no HELLO exchange yet)")

    # ---- the connection's own frames ----

    def send_hello(self, version_major=VERSION_MAJOR, version_minor=VERSION_MINOR):
        self.send_frame([HELLO, 0, version_major, version_minor, self.peer_id, self.session_id,
                         self.window, self.max_payload])

    def hello(self, timeout=5.0):
        """Sends our HELLO and waits for the remote's; returns its fields as a dict."""
        self.send_hello()
        self.wait_for(lambda: self.remote is not None or self.bye is not None, timeout,
                      "the remote's HELLO")
        if self.bye is not None:
            raise ConnectionClosed("HELLO refused with BYE %d: %s" % self.bye)
        self._check_open()
        return self.remote

    def ping(self, nonce, timeout=5.0):
        """Sends PING and waits for the PONG with the same nonce."""
        self.send_frame([PING, 0, nonce])
        self.wait_for(lambda: nonce in self.pongs, timeout, "PONG %d" % nonce)
        self.pongs.remove(nonce)

    def send_bye(self, code, message):
        self.send_frame([BYE, 0, code, message])
        self.bye_sent = (code, message)
        self._fail_all(UNAVAILABLE, "we sent BYE %d: %s" % (code, message))

    def wait_bye(self, timeout=5.0):
        """Waits for the remote's BYE; returns (code, message)."""
        self.wait_for(lambda: self.bye is not None, timeout, "BYE")
        return self.bye

    # ---- channels ----

    def open(self, service, headers=None, parent=0):
        """Opens a channel (the next odd id) and returns it; the OPEN is sent at once (or with
        the enclosing batch)."""
        self._check_open()
        channel_id = self.next_id
        self.next_id += 2
        headers = metadata(headers)
        channel = Channel(self, channel_id, service, headers)
        self.channels[channel_id] = channel
        self.used_ids.add(channel_id)
        self.send_frame([OPEN, channel_id, parent, service, headers])
        return channel

    # ---- RPC (§11) ----

    def call(self, method, timeout_ms=None, headers=None, content_type=None, oneway=False,
             wait=5.0):
        """Opens a call and returns its Call; the caller writes requests and reads responses."""
        return Call(self, method, timeout_ms, headers, content_type, oneway, wait)

    def _start(self, method, request, **options):
        """A call with one request: OPEN, DATA and END in one batch."""
        with self.batch():
            call = self.call(method, **options)
            call.send(request)
            call.end()
        return call

    def call_unary(self, method, request, timeout_ms=None, headers=None, content_type=None,
                   wait=5.0):
        """Calls a unary method; returns the decoded response or raises RpcError."""
        call = self._start(method, request, timeout_ms=timeout_ms, headers=headers,
                           content_type=content_type, wait=wait)
        responses = list(call.responses())
        if len(responses) != 1:
            raise RpcError(INTERNAL, "%s: a unary call got %d responses" % (method, len(responses)),
                           call.trailers)
        return responses[0]

    def call_server_stream(self, method, request, timeout_ms=None, headers=None,
                           content_type=None, wait=5.0):
        """Starts a server-streaming call; returns an iterator over the decoded responses that
        raises RpcError after the last one unless the status is ok."""
        call = self._start(method, request, timeout_ms=timeout_ms, headers=headers,
                           content_type=content_type, wait=wait)
        return call.responses()

    def call_oneway(self, method, request, headers=None, content_type=None, wait=5.0):
        """Fire-and-forget: sends the request and waits for the callee's END, which comes
        before its handler runs; there is no status. Raises RpcError if the call is refused."""
        call = self._start(method, request, headers=headers, content_type=content_type,
                           oneway=True, wait=wait)
        while True:
            event = call.next_event()
            if event.kind == "data":
                call.channel.cancel(CANCELLED, "a oneway call gets no answer")
                raise ProtocolError("%s: oneway call answered with %r" % (method, event))
            if event.kind == "trailers":  # only with a refusal (ERROR follows)
                call.trailers = event.trailers
                continue
            call._finish(event)
            return call

    def close(self):
        self.socket.close(linger=0)
