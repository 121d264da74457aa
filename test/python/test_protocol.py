#!/usr/bin/python3
"""Runs duplex_client.py (written from docs/PROTOCOL.md) against a real C++ Duplex peer.

    test_protocol.py <path to protocol_peer> [-v] [scenario name ...]

Starts protocol_peer on tcp://127.0.0.1:0, runs every scenario (or the named ones) with
bounded waits and exits non-zero naming each scenario that failed. -v logs every frame.
"""

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
import traceback

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import duplex_client as dc  # noqa: E402

# protocol_peer's configuration (see protocol_peer.cpp).
SERVER_ID = "protocol-peer"
SERVER_WINDOW = 64 << 10
SERVER_MAX_PAYLOAD = 32 << 10
# The status message of calc/fail: must arrive byte-exact.
FAIL_MESSAGE = "\t\n\r \u263a \U0001F608"

WAIT = 5.0           # the longest any single wait may take
WHOLE_TEST = 50      # watchdog for the whole run, seconds

VERBOSE = False
SCENARIOS = []
SERVER = None        # the protocol_peer process (for the shutdown scenario)
PEER_PATH = None     # to start more of them


def scenario(function):
    SCENARIOS.append(function)
    return function


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def equal(actual, expected, what):
    check(actual == expected, "%s: expected %r, got %r" % (what, expected, actual))


def log(line):
    print("    " + line, flush=True)


def read_endpoint(process):
    """The endpoint a protocol_peer prints once it is bound."""
    ready, _, _ = select.select([process.stdout], [], [], WAIT)
    if not ready:
        raise Failure("protocol_peer printed no endpoint within %.0f s" % WAIT)
    endpoint = process.stdout.readline().decode().strip()
    if not endpoint.startswith("tcp://"):
        raise Failure("protocol_peer printed %r instead of an endpoint" % endpoint)
    return endpoint


@contextlib.contextmanager
def other_peer(*options):
    """Another protocol_peer (e.g. --no-rpc) for one scenario; yields its endpoint."""
    process = subprocess.Popen([PEER_PATH, "tcp://127.0.0.1:0"] + list(options),
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        yield read_endpoint(process)
    finally:
        process.stdin.close()  # EOF: it shuts down
        try:
            process.wait(WAIT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise Failure("protocol_peer %s did not exit on stdin EOF" % " ".join(options))
        finally:
            process.stdout.close()


def connect(endpoint, hello=True, **options):
    conn = dc.Connection(endpoint, log=log if VERBOSE else None, **options)
    if hello:
        conn.hello(WAIT)
    return conn


def expect_event(channel, kind, timeout=WAIT):
    event = channel.recv(timeout)
    check(event.kind == kind, "channel %d (%s): expected %s, got %r"
          % (channel.id, channel.service, kind, event))
    return event


def no_violations(conn):
    check(not conn.violations, "the server broke the protocol: %s" % conn.violations)


def frames_for(conn, channel_id):
    return [dc.describe(f) for f in conn.stray if f[1] == channel_id]


def expect_status(code, run, what):
    """Runs run() and returns the RpcError it must raise with `code`."""
    try:
        result = run()
    except dc.RpcError as exc:
        equal(exc.code, code, "%s: status code (message %r)" % (what, exc.message))
        return exc
    raise Failure("%s: expected status %d, got the response %r" % (what, code, result))


def start_call(conn, method, requests, **options):
    """A call sending `requests` then END, in one batch; returns its dc.Call."""
    with conn.batch():
        call = conn.call(method, wait=WAIT, **options)
        for request in requests:
            call.send(request)
        call.end()
    return call


def sleep_runs(conn):
    """What slow/sleep handlers did so far, as the server saw it."""
    return conn.call_unary("slow/runs", {}, wait=WAIT)


# ---------------------------------------------------------------------------------------------
# Scenarios asked for


@scenario
def codec_matches_spec_examples(endpoint):
    """The byte examples of PROTOCOL.md §2 (offline: checks the client's codec)."""
    examples = [
        ([1, 0, 1, 0, "a", "s1", 8388624, 4194304],
         "98 01 00 01 00 a1 61 a2 73 31 ce 00 80 00 10 ce 00 40 00 00"),
        ([2, 1, 0, "echo", {"k": b"v"}], "95 02 01 00 a4 65 63 68 6f 81 a1 6b c4 01 76"),
        ([3, 1, b"hi"], "93 03 01 c4 02 68 69"),
        ([4, 1], "92 04 01"),
        ([5, 1, 14, "gone"], "94 05 01 0e a4 67 6f 6e 65"),
        ([6, 1, {"t": b"\xab\xab\xab"}], "93 06 01 81 a1 74 c4 03 ab ab ab"),
        ([7, 2, 1, "x"], "94 07 02 01 a1 78"),
        ([8, 1, 65536], "93 08 01 ce 00 01 00 00"),
        ([9, 0, 7], "93 09 00 07"),
        ([11, 0, 6, "dup"], "94 0b 00 06 a3 64 75 70"),
    ]
    for frame, hex_bytes in examples:
        encoded = dc.encode_frame(frame)
        equal(encoded.hex(" "), hex_bytes, "encoding of %r" % (frame,))
        equal(dc.decode_batch(encoded), [frame], "decoding of %s" % hex_bytes)
    batch = bytes.fromhex("93 03 01 c4 02 68 69 92 04 01")
    equal(dc.decode_batch(batch), [[3, 1, b"hi"], [4, 1]], "the DATA+END batch")
    # Any integer width is accepted: DATA with kind as uint64 and channel as uint16.
    wide = bytes.fromhex("93 cf 00 00 00 00 00 00 00 03 cd 00 01 c4 02 68 69")
    equal(dc.decode_batch(wide), [[3, 1, b"hi"]], "wide integers")
    for bad in (b"", b"\x93\x03\x01", b"\x92\x04"):
        try:
            dc.decode_batch(bad)
        except dc.ProtocolError:
            continue
        raise Failure("batch %r should not decode" % bad)


@scenario
def hello_exchange(endpoint):
    conn = connect(endpoint, hello=False)
    try:
        remote = conn.hello(WAIT)
        equal(remote["version_major"], 1, "server HELLO version_major")
        check(isinstance(remote["version_minor"], int), "version_minor is an integer")
        equal(remote["peer_id"], SERVER_ID, "server HELLO peer_id")
        check(isinstance(remote["session_id"], str) and remote["session_id"],
              "server HELLO session_id is a non-empty string: %r" % remote["session_id"])
        equal(remote["window"], SERVER_WINDOW, "server HELLO window")
        equal(remote["max_payload"], SERVER_MAX_PAYLOAD, "server HELLO max_payload")
        check(remote["window"] >= remote["max_payload"] + 16, "window >= max_payload + 16")
        # A second connection meets the same session.
        other = connect(endpoint)
        try:
            equal(other.remote["session_id"], remote["session_id"], "session id on a 2nd connection")
        finally:
            other.close()
        no_violations(conn)
        log("server HELLO: %r" % remote)
    finally:
        conn.close()


@scenario
def echo_open_data_end(endpoint):
    conn = connect(endpoint)
    try:
        messages = [b"hi", b"", bytes(range(256)), "☺ unicode".encode()]
        with conn.batch():  # OPEN, DATA..., END in one ZeroMQ message (§4: no wait for OPEN)
            ch = conn.open("echo")
            for message in messages:
                ch.send(message)
            ch.end()
        received, last = ch.recv_all(WAIT)
        equal(received, messages, "echoed messages")
        equal(last.kind, "end", "the echo stream's last event")
        check(ch.closed and ch.id not in conn.channels, "channel closed after END both ways")
        conn.drain(0.2)
        equal(frames_for(conn, ch.id), [], "frames after the channel closed")
        no_violations(conn)
    finally:
        conn.close()


@scenario
def sink_beyond_server_window(endpoint):
    conn = connect(endpoint)
    try:
        count, size = 300, 1000
        total_cost = count * (size + dc.MESSAGE_OVERHEAD)
        check(total_cost > 4 * SERVER_WINDOW, "the scenario exceeds the server's window")
        ch = conn.open("sink")
        for i in range(count):
            ch.send(bytes([i % 256]) * size, WAIT)
        ch.end()
        received, last = ch.recv_all(WAIT)
        equal(received, [str(count * size).encode()], "the sink's byte count")
        equal(last.kind, "end", "the sink stream's last event")
        check(ch.credit_frames > 0, "no CREDIT frame received")
        check(ch.send_credit <= SERVER_WINDOW, "credit above the window: %d" % ch.send_credit)
        no_violations(conn)
        log("sent %d bytes of credit cost with a %d-byte window; %d CREDIT frames gave %d bytes"
            % (total_cost, SERVER_WINDOW, ch.credit_frames, ch.credit_received))
    finally:
        conn.close()


@scenario
def stream_beyond_client_window(endpoint):
    window, max_payload = 4096, 1024
    conn = connect(endpoint, window=window, max_payload=max_payload)
    try:
        count, size = 200, 100
        fits = window // (size + dc.MESSAGE_OVERHEAD)
        ch = conn.open("stream")
        ch.send(b"%d %d" % (count, size))
        ch.end()
        # Read without consuming: the server must stop once our window is used up.
        conn.wait_for(lambda: ch.received_messages >= fits or conn.violations, WAIT,
                      "%d streamed messages" % fits)
        conn.drain(0.5)  # nothing more may come until we return credit
        no_violations(conn)  # a DATA beyond our credit would be recorded here
        equal(ch.received_messages, fits, "messages the server sent before waiting for CREDIT")
        conn.ping(9, WAIT)  # answered even while the server's writer waits for credit
        # Now consume: the client returns credit and the server resumes.
        received, last = ch.recv_all(WAIT)
        equal(len(received), count, "number of streamed messages")
        for i, payload in enumerate(received):
            check(payload.startswith(b"%d." % i) and len(payload) == size,
                  "streamed message %d: %r" % (i, payload))
        equal(last.kind, "end", "the stream's last event")
        check(ch.credit_returned >= count * (size + 16) - window,
              "credit returned: %d" % ch.credit_returned)
        check(ch.max_outstanding <= window, "outstanding credit %d" % ch.max_outstanding)
        no_violations(conn)
        log("%d messages with a %d-byte window; returned %d bytes of credit; largest batch %d "
            "frames" % (count, window, ch.credit_returned, conn.largest_batch))
    finally:
        conn.close()


@scenario
def error_from_fail(endpoint):
    conn = connect(endpoint)
    try:
        text = "boom\t\n\r ☺ 😈"
        with conn.batch():
            ch = conn.open("fail")
            ch.send(text.encode("utf-8"))
            ch.end()
        received, last = ch.recv_all(WAIT)
        equal(received, [], "messages before the error")
        equal(last.kind, "error", "the fail stream's last event")
        equal(last.code, dc.UNAVAILABLE, "ERROR code")
        equal(last.message.encode("utf-8"), text.encode("utf-8"), "ERROR message bytes")
        conn.drain(0.2)
        equal(frames_for(conn, ch.id), [], "frames after the channel closed")
        no_violations(conn)
    finally:
        conn.close()


@scenario
def trailers_round_trip(endpoint):
    conn = connect(endpoint)
    try:
        trailers = {"t": b"\xab\xab\xab", "grpc-status": b"0", "all-bytes": bytes(range(256)),
                    "empty": b""}
        with conn.batch():
            ch = conn.open("echo")
            ch.send(b"payload")
            ch.send_trailers(trailers)
            ch.end()
        expect_event(ch, "data")
        event = expect_event(ch, "trailers")
        equal(event.trailers, trailers, "echoed trailers")
        expect_event(ch, "end")
        # Receivers also accept str values in a metadata map.
        ch = conn.open("echo")
        with conn.batch():
            conn.send_frame([dc.TRAILERS, ch.id, {"text": "☺ as str", "bin": b"\x00\xff"}])
            ch.end()
        event = expect_event(ch, "trailers")
        equal(event.trailers, {"text": "☺ as str".encode(), "bin": b"\x00\xff"},
              "echoed trailers sent with a str value")
        expect_event(ch, "end")
        no_violations(conn)
    finally:
        conn.close()


@scenario
def cancel_wait_cancel(endpoint):
    conn = connect(endpoint)
    try:
        ch = conn.open("wait_cancel")
        conn.drain(0.2)  # let the handler block in read()
        ch.cancel(dc.CANCELLED, "the client cancels")
        conn.drain(0.3)
        equal(frames_for(conn, ch.id), [], "frames answering a CANCEL (never answered)")
        seen = conn.open("cancel_seen")
        seen.end()
        received, last = seen.recv_all(WAIT)
        equal(received, [b"yes"], "cancel_seen")
        equal(last.kind, "end", "the cancel_seen stream's last event")
        no_violations(conn)
    finally:
        conn.close()


@scenario
def unknown_service_refused(endpoint):
    """§4 and §10: a peer without an RPC node refuses an OPEN for an unknown service with
    CANCEL unimplemented (with one, §11 answers: see rpc_channel_name_without_slash)."""
    with other_peer("--no-rpc") as plain:
        refused_right_away(plain)


def refused_right_away(endpoint):
    conn = connect(endpoint)
    try:
        started = time.monotonic()
        with conn.batch():
            ch = conn.open("no_such_service")
            ch.send(b"ignored")
            ch.end()
        event = expect_event(ch, "cancel", timeout=2.0)
        elapsed = time.monotonic() - started
        equal(event.code, dc.UNIMPLEMENTED, "CANCEL code")
        check("no_such_service" in event.message, "CANCEL message names the service: %r"
              % event.message)
        check(elapsed < 1.0, "refusal took %.2f s" % elapsed)
        conn.drain(0.2)
        equal(frames_for(conn, ch.id), [], "frames after the refusal")
        no_violations(conn)
        log("refused in %.1f ms: %r" % (elapsed * 1000, event.message))
    finally:
        conn.close()


@scenario
def ping_pong(endpoint):
    conn = connect(endpoint)
    try:
        for nonce in (0, 7, 0xFFFFFFFFFFFFFFFF):
            conn.ping(nonce, WAIT)
        no_violations(conn)
    finally:
        conn.close()


@scenario
def hello_major_version_2_refused(endpoint):
    conn = connect(endpoint, hello=False)
    try:
        conn.send_hello(version_major=2, version_minor=0)
        code, message = conn.wait_bye(WAIT)
        equal(code, dc.FAILED_PRECONDITION, "BYE code")
        check("2" in message and "1" in message, "BYE message names both versions: %r" % message)
        check(conn.remote is None, "the server answered HELLO too: %r" % conn.remote)
        log("BYE message: %r" % message)
    finally:
        conn.close()


@scenario
def frame_before_hello_refused(endpoint):
    conn = connect(endpoint, hello=False)
    try:
        conn.send_frame([dc.OPEN, 1, 0, "echo", {}])
        code, message = conn.wait_bye(WAIT)
        equal(code, dc.INTERNAL, "BYE code")
        log("BYE message: %r" % message)
        # After a BYE everything that arrives on the connection is ignored (§3).
        conn.send_hello()
        conn.drain(0.5)
        equal([dc.describe(f) for f in conn.stray], [], "answers after BYE")
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------------
# Further checks of the spec's statements


@scenario
def extra_second_connection_same_peer_id_new_session(endpoint):
    first = connect(endpoint)
    try:
        second = connect(endpoint, hello=False, peer_id=first.peer_id)
        try:
            second.send_hello()
            code, message = second.wait_bye(WAIT)
            equal(code, dc.ALREADY_EXISTS, "BYE code for a duplicate peer id")
            first.ping(1, WAIT)  # the first connection is unaffected
        finally:
            second.close()
    finally:
        first.close()


@scenario
def extra_hello_with_server_id(endpoint):
    conn = connect(endpoint, hello=False, peer_id=SERVER_ID)
    try:
        conn.send_hello()
        code, _ = conn.wait_bye(WAIT)
        equal(code, dc.ALREADY_EXISTS, "BYE code for the server's own id")
    finally:
        conn.close()


@scenario
def extra_bad_hello_fields(endpoint):
    for label, fields in (("empty peer id", ["", "s", 65536, 32768]),
                          ("empty session id", ["p-%d" % os.getpid(), "", 65536, 32768]),
                          ("window 16", ["p-%d" % os.getpid(), "s", 16, 0])):
        conn = connect(endpoint, hello=False)
        try:
            conn.send_frame([dc.HELLO, 0, 1, 0] + fields)
            code, _ = conn.wait_bye(WAIT)
            equal(code, dc.INTERNAL, "BYE code for a HELLO with %s" % label)
        finally:
            conn.close()


@scenario
def extra_second_hello(endpoint):
    conn = connect(endpoint)
    try:
        conn.send_hello()
        code, _ = conn.wait_bye(WAIT)
        equal(code, dc.INTERNAL, "BYE code for a second HELLO")
    finally:
        conn.close()


@scenario
def extra_ignored_and_extended_frames(endpoint):
    conn = connect(endpoint)
    try:
        ch = conn.open("echo")
        with conn.batch():
            conn.send_frame([99, 0, "unknown kind"])       # ignored
            conn.send_frame([dc.DATA, ch.id, b"x", "extra element"])  # extra ignored
        conn.send_raw(bytes.fromhex("93 cf 00 00 00 00 00 00 00 03 cd 00 %02x c4 02 68 69"
                                    % ch.id))  # DATA with wide integers
        ch.end()
        received, last = ch.recv_all(WAIT)
        equal(received, [b"x", b"hi"], "echoed messages")
        equal(last.kind, "end", "last event")
        conn.ping(2, WAIT)
        no_violations(conn)
    finally:
        conn.close()


@scenario
def extra_payload_over_max_payload(endpoint):
    conn = connect(endpoint)
    try:
        ch = conn.open("echo")
        size = SERVER_MAX_PAYLOAD + 1
        try:
            ch.send(b"z" * size)
            raise Failure("the client sent a payload over the remote's max_payload")
        except ValueError:
            pass
        conn.send_frame([dc.DATA, ch.id, b"z" * size])  # bypass the client's own check
        event = expect_event(ch, "cancel")
        equal(event.code, dc.RESOURCE_EXHAUSTED, "CANCEL code")
        check(str(size) in event.message and str(SERVER_MAX_PAYLOAD) in event.message,
              "CANCEL message names both sizes: %r" % event.message)
        conn.ping(3, WAIT)  # the connection carries on
    finally:
        conn.close()


@scenario
def extra_credit_boundary(endpoint):
    """The server's window holds exactly `window` bytes of cost (payload + 16); one more DATA,
    even an empty one, is a credit overrun: CANCEL resource_exhausted."""
    conn = connect(endpoint, window=4096, max_payload=1024)
    try:
        # The stream handler reads its request, then blocks writing (our window is small and we
        # return no credit), so it consumes nothing more while we fill its window.
        ch = conn.open("stream")
        request = b"1000 100"
        ch.send(request)
        conn.wait_for(lambda: ch.received_messages > 0, WAIT, "the stream to start")
        conn.drain(0.2)
        check(ch.received_messages < 1000, "the stream handler is not blocked")
        left = SERVER_WINDOW - (len(request) + dc.MESSAGE_OVERHEAD)
        first = SERVER_MAX_PAYLOAD
        second = left - (first + dc.MESSAGE_OVERHEAD) - dc.MESSAGE_OVERHEAD
        with conn.batch():  # bypass Channel.send's credit wait: exactly the window
            conn.send_frame([dc.DATA, ch.id, b"a" * first])
            conn.send_frame([dc.DATA, ch.id, b"b" * second])
        conn.drain(0.3)
        check(ch.cancelled is None, "filling the window exactly was refused: %r" % (ch.cancelled,))
        conn.send_frame([dc.DATA, ch.id, b""])  # costs 16 with no credit left
        conn.wait_for(lambda: ch.cancelled is not None, WAIT, "CANCEL for the overrun")
        code, message, by_remote = ch.cancelled
        equal((code, by_remote), (dc.RESOURCE_EXHAUSTED, True), "CANCEL for a credit overrun")
        conn.ping(4, WAIT)  # the connection carries on
        no_violations(conn)
        log("overrun: %r" % message)
    finally:
        conn.close()


@scenario
def extra_channel_errors(endpoint):
    conn = connect(endpoint)
    try:
        # DATA after END is a channel error: CANCEL internal for that channel only.
        ch = conn.open("sink")
        with conn.batch():
            ch.end()
            conn.send_frame([dc.DATA, ch.id, b"late"])
        events = []
        while not events or events[-1].kind not in ("cancel", "error", "end"):
            events.append(ch.recv(WAIT))
        if events[-1].kind == "end":
            # The sink read our END and ended its side before its peer saw the late DATA: the
            # channel is closed at both ends, and the CANCEL trails it.
            conn.wait_for(lambda: any(f[1] == ch.id for f in conn.stray), WAIT,
                          "the CANCEL trailing channel %d" % ch.id)
            late = [f for f in conn.stray if f[1] == ch.id][0]
            equal((late[0], late[2]), (dc.CANCEL, dc.INTERNAL),
                  "answer to DATA after END, after the sink's END (events %r)" % events)
        else:
            equal((events[-1].kind, events[-1].code), ("cancel", dc.INTERNAL),
                  "answer to DATA after END (events %r)" % events)
        # A frame for a channel id never opened is answered with CANCEL internal.
        conn.send_frame([dc.CREDIT, 99, 10])
        conn.wait_for(lambda: conn.unknown, WAIT, "an answer to CREDIT on channel 99")
        equal(conn.unknown[0][:3], [dc.CANCEL, 99, dc.INTERNAL], "answer to CREDIT on channel 99")
        # An OPEN with an even (server-side) id is refused with CANCEL internal.
        conn.send_frame([dc.OPEN, 100, 0, "echo", {}])
        conn.wait_for(lambda: len(conn.unknown) > 1, WAIT, "an answer to OPEN 100")
        equal(conn.unknown[1][:3], [dc.CANCEL, 100, dc.INTERNAL], "answer to OPEN with an even id")
        # An unsupported content-type is refused with invalid_argument, an unknown parent with
        # not_found.
        bad_type = conn.open("echo", {"content-type": "text/plain"})
        equal(expect_event(bad_type, "cancel").code, dc.INVALID_ARGUMENT,
              "CANCEL code for content-type text/plain")
        orphan = conn.open("echo", parent=77)
        equal(expect_event(orphan, "cancel").code, dc.NOT_FOUND, "CANCEL code for parent 77")
        # TRAILERS twice is a channel error too.
        twice = conn.open("echo")
        with conn.batch():
            conn.send_frame([dc.TRAILERS, twice.id, {"a": b"1"}])
            conn.send_frame([dc.TRAILERS, twice.id, {"a": b"2"}])
        equal(expect_event(twice, "cancel").code, dc.INTERNAL, "CANCEL code for TRAILERS twice")
        # Headers over the 64 KiB limit are refused with resource_exhausted.
        big = conn.open("echo", {"big": b"h" * (65 << 10)})
        equal(expect_event(big, "cancel").code, dc.RESOURCE_EXHAUSTED,
              "CANCEL code for 65 KiB of headers")
        # A CANCEL for an id never opened is never answered.
        conn.send_frame([dc.CANCEL, 101, dc.CANCELLED, "nothing"])
        conn.ping(5, WAIT)
        equal([f for f in conn.unknown if f[1] == 101], [], "answers to CANCEL on channel 101")
        log("unknown-channel answers: %r" % [dc.describe(f) for f in conn.unknown])
    finally:
        conn.close()


@scenario
def extra_open_rules(endpoint):
    conn = connect(endpoint)
    try:
        # Service name + header keys and values may total exactly the 64 KiB limit, not more.
        limit = 64 << 10
        for over in (0, 1):
            ch = conn.open("echo", {"big": b"h" * (limit - len("echo") - len("big") + over)})
            ch.send(b"x")
            ch.end()
            if over:
                equal(expect_event(ch, "cancel").code, dc.RESOURCE_EXHAUSTED,
                      "CANCEL code for headers 1 byte over the limit")
            else:
                equal(ch.recv_all(WAIT)[0], [b"x"], "echo with headers exactly at the limit")
        # A nested channel is cancelled (cancelled) when its parent closes.
        parent = conn.open("echo")
        nested = conn.open("echo", parent=parent.id)
        nested.send(b"inside")
        parent.end()
        received, last = parent.recv_all(WAIT)
        equal((received, last.kind), ([], "end"), "the parent's echo stream")
        event = expect_event(nested, "cancel")
        equal(event.code, dc.CANCELLED, "CANCEL code of a nested channel when its parent closed")
        # OPEN ids must increase: an id at or below the highest seen is refused (internal).
        high = conn.next_id + 10
        conn.send_frame([dc.OPEN, high, 0, "echo", {}])
        conn.send_frame([dc.OPEN, high - 2, 0, "echo", {}])
        conn.wait_for(lambda: conn.unknown, WAIT, "an answer to OPEN %d" % (high - 2))
        equal(conn.unknown[0][:3], [dc.CANCEL, high - 2, dc.INTERNAL],
              "answer to an OPEN id below the highest")
        log("low id refused with %r" % conn.unknown[0][3])
        no_violations(conn)
    finally:
        conn.close()


@scenario
def extra_json_content_type_and_many_channels(endpoint):
    conn = connect(endpoint)
    try:
        channels = []
        with conn.batch():  # 20 channels, interleaved in one batch
            for i in range(20):
                headers = {"content-type": "application/json"} if i % 2 else {}
                channels.append(conn.open("echo", headers))
            for round_ in range(5):
                for i, ch in enumerate(channels):
                    ch.send(b"%d/%d" % (i, round_))
            for ch in channels:
                ch.end()
        for i, ch in enumerate(channels):
            received, last = ch.recv_all(WAIT)
            equal(received, [b"%d/%d" % (i, r) for r in range(5)], "echo on channel %d" % ch.id)
            equal(last.kind, "end", "last event on channel %d" % ch.id)
        no_violations(conn)
    finally:
        conn.close()


@scenario
def extra_second_connection_same_session(endpoint):
    first = connect(endpoint)
    try:
        second = connect(endpoint, peer_id=first.peer_id, session_id=first.session_id)
        try:
            for conn in (first, second):
                ch = conn.open("echo")
                ch.send(b"via " + conn.socket.getsockopt_string(dc.zmq.LAST_ENDPOINT).encode())
                ch.end()
                received, last = ch.recv_all(WAIT)
                equal((len(received), last.kind), (1, "end"), "echo on an extra connection")
        finally:
            second.close()
    finally:
        first.close()


@scenario
def extra_connection_errors(endpoint):
    cases = [
        ("undecodable batch", lambda c: c.send_raw(b"\xc1")),
        ("truncated batch", lambda c: c.send_raw(b"\x93\x03")),
        ("frame too short", lambda c: c.send_raw(b"\x91\x03")),
        ("wrong element type", lambda c: c.send_frame([dc.CREDIT, 1, "ten"])),
        ("empty body", lambda c: c.send_raw(b"")),
        ("multi-part message", lambda c: c.socket.send_multipart([b"\x92\x04\x01"] * 2)),
        ("DATA on channel 0", lambda c: c.send_frame([dc.DATA, 0, b"x"])),
        ("ext type", lambda c: c.send_raw(bytes.fromhex("93 03 01 d4 01 00"))),
    ]
    for label, send in cases:
        conn = connect(endpoint)
        try:
            send(conn)
            code, message = conn.wait_bye(WAIT)
            equal(code, dc.INTERNAL, "BYE code for %s" % label)
        finally:
            conn.close()


@scenario
def info_ping_before_hello(endpoint):
    """§3 says nothing but HELLO may come first, yet PING is allowed 'at any time after the
    ZMTP handshake': only logs what the C++ peer does."""
    conn = connect(endpoint, hello=False)
    try:
        conn.send_frame([dc.PING, 0, 42])
        conn.wait_for(lambda: conn.pongs or conn.bye, WAIT, "PONG or BYE")
        log("PING before HELLO -> %s" % ("PONG" if conn.pongs else "BYE %r" % (conn.bye,)))
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------------
# RPC (§11), against the rpc::node of protocol_peer


@scenario
def rpc_unary_ok(endpoint):
    conn = connect(endpoint)
    try:
        equal(conn.call_unary("calc/add", {"a": 2, "b": 40}, timeout_ms=500, wait=WAIT),
              {"sum": 42}, "calc/add")
        equal(conn.call_unary("calc/add", {"a": -5, "b": 2 ** 40}, wait=WAIT),
              {"sum": 2 ** 40 - 5}, "calc/add with a negative and a wide integer")
        # The §11 example, frame by frame: DATA, TRAILERS {duplex-status: "0"}, END.
        call = start_call(conn, "calc/add", [{"a": 2, "b": 40}], timeout_ms=500)
        equal(call.channel.headers, {"duplex-timeout": b"500"}, "the call's headers")
        equal(dc.encode_payload({"a": 2, "b": 40}), b"\x82\xa1a\x02\xa1b\x28",
              "the request payload of the example")
        events = [call.next_event() for _ in range(3)]
        equal([e.kind for e in events], ["data", "trailers", "end"], "the callee's stream")
        equal(events[0].payload, b"\x81\xa3sum\x2a", "the response payload")
        equal(events[1].trailers, {"duplex-status": b"0"}, "the trailers on success")
        conn.drain(0.2)
        equal(frames_for(conn, call.channel.id), [], "frames after the status")
        no_violations(conn)
    finally:
        conn.close()


@scenario
def rpc_channel_name_without_slash(endpoint):
    """With an RPC node serving every unhandled name, a name that is no "service/method" gets
    §11's unimplemented status rather than §4's CANCEL."""
    conn = connect(endpoint)
    try:
        with conn.batch():
            ch = conn.open("no_such_service")
            ch.send(b"ignored")
            ch.end()
        received, last = ch.recv_all(WAIT)
        equal((received, last.kind, last.code), ([], "error", dc.UNIMPLEMENTED),
              "the answer to OPEN no_such_service")
        check("no_such_service" in last.message, "names the service: %r" % last.message)
        equal(ch.trailers, {"duplex-status": b"12", "duplex-message": last.message.encode()},
              "the trailers before ERROR")
        no_violations(conn)
    finally:
        conn.close()


@scenario
def rpc_unary_json(endpoint):
    conn = connect(endpoint)
    try:
        equal(conn.call_unary("calc/add", {"a": 2, "b": 40}, content_type="application/json",
                              wait=WAIT), {"sum": 42}, "calc/add in JSON")
        call = start_call(conn, "calc/add", [{"a": 1, "b": 2}], content_type="application/json")
        event = expect_event(call.channel, "data")
        equal(json.loads(event.payload.decode("utf-8")), {"sum": 3},
              "the response is JSON text: %r" % event.payload)
        error = expect_status(dc.PERMISSION_DENIED, lambda: conn.call_unary(
            "calc/fail", {"code": 7}, content_type="application/json", wait=WAIT),
            "calc/fail in JSON")
        equal(error.message, FAIL_MESSAGE, "status message in JSON")
        no_violations(conn)
    finally:
        conn.close()


@scenario
def rpc_unknown_service_and_method(endpoint):
    conn = connect(endpoint)
    try:
        no_service = expect_status(dc.UNIMPLEMENTED, lambda: conn.call_unary(
            "nope/add", {}, wait=WAIT), "an unknown service")
        no_method = expect_status(dc.UNIMPLEMENTED, lambda: conn.call_unary(
            "calc/mul", {}, wait=WAIT), "an unknown method")
        check(no_service.message != no_method.message,
              "the same message for both: %r" % no_service.message)
        check("nope" in no_service.message, "names the service: %r" % no_service.message)
        check("mul" in no_method.message, "names the method: %r" % no_method.message)
        for error in (no_service, no_method):
            equal(error.trailers, {"duplex-status": b"12",
                                   "duplex-message": error.message.encode("utf-8")},
                  "the trailers before ERROR")
        log("unknown service: %r; unknown method: %r" % (no_service.message, no_method.message))
        no_violations(conn)
    finally:
        conn.close()


@scenario
def rpc_error_status_byte_exact(endpoint):
    conn = connect(endpoint)
    try:
        for code in (dc.PERMISSION_DENIED, dc.INTERNAL, dc.UNAUTHENTICATED):
            error = expect_status(code, lambda: conn.call_unary(
                "calc/fail", {"code": code}, wait=WAIT), "calc/fail with %d" % code)
            expected = FAIL_MESSAGE.encode("utf-8")
            equal(error.message.encode("utf-8"), expected, "the ERROR message bytes")
            equal(error.trailers.get("duplex-message"), expected, "duplex-message bytes")
            equal(error.trailers.get("duplex-status"), str(code).encode(), "duplex-status")
        no_violations(conn)
    finally:
        conn.close()


@scenario
def rpc_server_stream_in_order_with_flow_control(endpoint):
    window, max_payload = 4096, 1024
    conn = connect(endpoint, window=window, max_payload=max_payload)
    try:
        count = 1000
        call = start_call(conn, "count/up", [{"n": count}])
        ch = call.channel
        # Without consuming, the server fills our window exactly, then waits for CREDIT.
        costs = [len(dc.encode_payload({"i": i})) + dc.MESSAGE_OVERHEAD for i in range(count)]
        fits = 0
        while sum(costs[:fits + 1]) <= window:
            fits += 1
        conn.wait_for(lambda: ch.received_messages >= fits or conn.violations, WAIT,
                      "%d streamed responses" % fits)
        conn.drain(0.3)
        no_violations(conn)
        equal(ch.received_messages, fits, "responses sent before waiting for CREDIT")
        responses = list(call.responses())
        equal(responses, [{"i": i} for i in range(count)], "the responses, in order")
        equal(call.trailers, {"count-sent": str(count).encode(), "duplex-status": b"0"},
              "the handler's trailers plus duplex-status")
        check(ch.credit_returned >= sum(costs) - window, "credit returned: %d" % ch.credit_returned)
        check(ch.max_outstanding <= window, "outstanding credit %d" % ch.max_outstanding)
        no_violations(conn)
        log("%d responses through a %d-byte window; %d bytes of credit returned"
            % (count, window, ch.credit_returned))
    finally:
        conn.close()


@scenario
def rpc_server_stream_iterator_and_failure(endpoint):
    conn = connect(endpoint)
    try:
        replies = conn.call_server_stream("count/up", {"n": 1000}, timeout_ms=5000, wait=WAIT)
        equal([r["i"] for r in replies], list(range(1000)), "count/up 1000")
        received = []
        def consume():
            for reply in conn.call_server_stream("count/up", {"n": 10, "fail_at": 3}, wait=WAIT):
                received.append(reply)
        error = expect_status(dc.ABORTED, consume, "count/up failing at 3")
        equal(received, [{"i": 0}, {"i": 1}, {"i": 2}], "responses before the status")
        equal(error.message, "stopped at 3", "the status message")
        no_violations(conn)
    finally:
        conn.close()
    # Stopping early cancels the call (a small window keeps the server from sending it all).
    conn = connect(endpoint, window=4096, max_payload=1024)
    try:
        replies = conn.call_server_stream("count/up", {"n": 100000}, wait=WAIT)
        equal(next(replies), {"i": 0}, "the first response")
        replies.close()
        check(not conn.channels, "a call left open after the caller stopped reading")
        conn.ping(11, WAIT)
        no_violations(conn)
    finally:
        conn.close()


@scenario
def rpc_deadline_exceeded(endpoint):
    """A 100 ms deadline: the caller fails the call with deadline_exceeded, never earlier, and
    cancels it; the handler is cancelled about then too."""
    conn = connect(endpoint)
    try:
        started = time.monotonic()
        error = expect_status(dc.DEADLINE_EXCEEDED, lambda: conn.call_unary(
            "slow/sleep", {}, timeout_ms=100, wait=WAIT), "slow/sleep with a 100 ms deadline")
        elapsed = time.monotonic() - started
        check(0.1 <= elapsed < 1.0, "deadline_exceeded after %.1f ms" % (elapsed * 1000))
        runs = sleep_runs(conn)
        equal(runs["started"], runs["finished"], "slow/sleep handlers all finished")
        # Whichever comes first ends the handler: our CANCEL (sent at our deadline) or the
        # server's own deadline (its clock starts when the call arrives, a little later).
        check(runs["reason"] in (dc.CANCELLED, dc.DEADLINE_EXCEEDED),
              "the handler's cancel reason: %d" % runs["reason"])
        check(90 <= runs["waited_ms"] < 1000, "the handler waited %d ms" % runs["waited_ms"])
        log("%r after %.1f ms; the handler waited %d ms (reason %d)"
            % (error.message, elapsed * 1000, runs["waited_ms"], runs["reason"]))
        no_violations(conn)
    finally:
        conn.close()


@scenario
def rpc_deadline_at_the_callee(endpoint):
    """duplex-timeout alone (the client keeps no deadline): the server cancels its handler at
    its own deadline, not before 100 ms, and ends the call."""
    conn = connect(endpoint)
    try:
        before = sleep_runs(conn)
        # Before the OPEN leaves: the callee's 100 ms start when it arrives, never earlier.
        started = time.monotonic()
        call = start_call(conn, "slow/sleep", [{}], headers={"duplex-timeout": "100"})
        received, last = call.channel.recv_all(WAIT)
        elapsed = time.monotonic() - started
        equal(received, [], "responses")
        check(0.1 <= elapsed < 2.0, "the call ended after %.1f ms" % (elapsed * 1000))
        # §11 does not say what the callee sends at its deadline: only logged.
        log("the callee's answer at its deadline, after %.1f ms: %r%s"
            % (elapsed * 1000, last, " after %r" % call.channel.trailers
               if call.channel.trailers else ""))
        check(last.kind in ("error", "cancel") and last.code != dc.OK,
              "the call ended without a failure: %r" % last)
        after = sleep_runs(conn)
        equal((after["started"], after["finished"]), (before["started"] + 1,) * 2,
              "slow/sleep runs (before: %r)" % before)
        check(95 <= after["waited_ms"] < 2000,
              "the handler waited %d ms for its 100 ms deadline" % after["waited_ms"])
        equal(after["reason"], dc.DEADLINE_EXCEEDED, "the handler's cancel reason")
        no_violations(conn)
    finally:
        conn.close()


@scenario
def rpc_timeout_zero_skips_the_handler(endpoint):
    conn = connect(endpoint)
    try:
        before = sleep_runs(conn)
        for value in ("0", "-1"):  # ≤ 0: deadline_exceeded without running the handler
            error = expect_status(dc.DEADLINE_EXCEEDED, lambda: conn.call_unary(
                "slow/sleep", {}, headers={"duplex-timeout": value}, wait=WAIT),
                "duplex-timeout %s" % value)
            equal(error.trailers.get("duplex-status"), b"4", "duplex-status")
        for value in ("soon", "1.5", ""):  # malformed: invalid_argument
            expect_status(dc.INVALID_ARGUMENT, lambda: conn.call_unary(
                "slow/sleep", {}, headers={"duplex-timeout": value}, wait=WAIT),
                "duplex-timeout %r" % value)
        equal(sleep_runs(conn)["started"], before["started"], "slow/sleep runs")
        no_violations(conn)
    finally:
        conn.close()


@scenario
def rpc_caller_cancels(endpoint):
    conn = connect(endpoint)
    try:
        before = sleep_runs(conn)
        call = start_call(conn, "slow/sleep", [{}])
        conn.drain(0.2)  # the handler is waiting
        call.channel.cancel(dc.CANCELLED, "the caller cancels")
        after = sleep_runs(conn)
        equal(after["finished"], before["finished"] + 1, "slow/sleep runs finished")
        equal(after["reason"], dc.CANCELLED, "the handler's cancel reason")
        check(after["waited_ms"] < 2000, "the handler waited %d ms" % after["waited_ms"])
        no_violations(conn)
    finally:
        conn.close()


@scenario
def rpc_oneway_gets_only_end(endpoint):
    conn = connect(endpoint)
    try:
        text = "oneway %s" % conn.session_id
        call = conn.call_oneway("notes/post", {"text": text}, wait=WAIT)
        ch = call.channel
        equal((ch.received_messages, ch.received_trailers, ch.recv_ended), (0, False, True),
              "(DATA, TRAILERS, END) of a oneway call")
        equal(call.channel.headers["duplex-oneway"], b"1", "duplex-oneway sent")
        conn.wait_for(lambda: text in conn.call_unary("notes/list", {}, wait=WAIT)["texts"],
                      WAIT, "the oneway handler to run")
        conn.drain(0.2)
        equal(frames_for(conn, ch.id), [], "frames after END")
        no_violations(conn)
    finally:
        conn.close()


@scenario
def rpc_wrong_number_of_requests(endpoint):
    conn = connect(endpoint)
    try:
        for requests in ([], [{"a": 1, "b": 1}] * 2):
            call = start_call(conn, "calc/add", requests)
            expect_status(dc.INVALID_ARGUMENT, lambda: list(call.responses()),
                          "calc/add with %d requests" % len(requests))
        no_violations(conn)
    finally:
        conn.close()


@scenario
def rpc_builtin_services(endpoint):
    conn = connect(endpoint)
    try:
        listed = conn.call_unary("duplex.reflect/list", {}, wait=WAIT)
        services = {s["name"]: s for s in listed["services"]}
        for name in ("calc", "count", "slow", "notes", "duplex.reflect", "duplex.health",
                     "duplex.ping"):
            check(name in services, "duplex.reflect/list lacks %s: %r" % (name, sorted(services)))
        equal(sorted(services["calc"]["methods"]), ["add", "fail"], "calc's methods")
        equal(services["calc"]["version"], "1.0.0", "calc's version")
        ping = conn.call_unary("duplex.ping/ping", {}, wait=WAIT)
        equal(ping, {"peer_id": SERVER_ID, "session_id": conn.remote["session_id"]},
              "duplex.ping/ping")
        described = conn.call_unary("duplex.reflect/describe", {"service": "count"}, wait=WAIT)
        up = described["methods"][0]
        equal((up["name"], up["shape"], up["request_fields"], up["response_fields"]),
              ("up", "server_stream", ["n", "fail_at"], ["i"]), "count/up described")
        expect_status(dc.NOT_FOUND, lambda: conn.call_unary(
            "duplex.reflect/describe", {"service": "nope"}, wait=WAIT), "describe nope")
        equal(conn.call_unary("duplex.health/check", {"service": ""}, wait=WAIT),
              {"status": "serving"}, "duplex.health/check of the node")
        expect_status(dc.NOT_FOUND, lambda: conn.call_unary(
            "duplex.health/check", {"service": "nope"}, wait=WAIT), "health of nope")
        no_violations(conn)
    finally:
        conn.close()


@scenario
def info_rpc_open_questions(endpoint):
    """Cases §11 leaves open: only logs what the C++ peer does."""
    conn = connect(endpoint)
    try:
        oneway = start_call(conn, "calc/mul", [{}], oneway=True)
        conn.drain(0.2)
        log("oneway call to an unknown method -> %r" % (oneway.channel.events,))
        refused = start_call(conn, "slow/sleep", [{}], headers={"duplex-timeout": "later"})
        conn.drain(0.2)
        log("frames after an early status although our END came with the OPEN -> %r"
            % frames_for(conn, refused.channel.id))
    finally:
        conn.close()


@scenario
def shutdown_cancels_channels_then_bye(endpoint):
    """§9, last because it stops protocol_peer: open channels get CANCEL unavailable, then the
    connection gets BYE unavailable."""
    conn = connect(endpoint)
    try:
        waiting = conn.open("wait_cancel")
        echoing = conn.open("echo")
        echoing.send(b"before shutdown")
        expect_event(echoing, "data")
        SERVER.stdin.close()  # EOF: protocol_peer shuts down
        code, message = conn.wait_bye(WAIT)
        equal(code, dc.UNAVAILABLE, "BYE code at shutdown")
        for ch in (waiting, echoing):
            equal(ch.cancelled and ch.cancelled[0::2], (dc.UNAVAILABLE, True),
                  "CANCEL before BYE on channel %d (%s)" % (ch.id, ch.service))
        log("BYE message: %r" % message)
    finally:
        conn.close()


def main(argv):
    global VERBOSE
    args = [a for a in argv[1:] if a != "-v"]
    VERBOSE = len(args) != len(argv) - 1
    if not args:
        print(__doc__)
        return 2
    peer_path, wanted = args[0], args[1:]
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(
        Failure("the whole test took more than %d s" % WHOLE_TEST)))
    signal.alarm(WHOLE_TEST)

    global SERVER, PEER_PATH
    PEER_PATH = peer_path
    server = SERVER = subprocess.Popen([peer_path, "tcp://127.0.0.1:0"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE)
    failed = []
    try:
        try:
            endpoint = read_endpoint(server)
        except Failure as exc:
            print("FAIL: %s" % exc)
            return 1
        print("protocol_peer bound %s" % endpoint, flush=True)
        for function in SCENARIOS:
            name = function.__name__
            if wanted and name not in wanted:
                continue
            started = time.monotonic()
            try:
                function(endpoint)
                print("PASS %-50s %6.0f ms" % (name, (time.monotonic() - started) * 1000),
                      flush=True)
            except Exception as exc:  # Failure, Timeout, ProtocolError, anything else
                failed.append(name)
                print("FAIL %-50s %6.0f ms: %s: %s" % (name, (time.monotonic() - started) * 1000,
                                                       type(exc).__name__, exc), flush=True)
                if VERBOSE or not isinstance(exc, (Failure, dc.Timeout)):
                    traceback.print_exc()
            if server.poll() is not None and not server.stdin.closed:
                failed.append("protocol_peer exited with %d" % server.returncode)
                break
    finally:
        signal.alarm(0)
        if not server.stdin.closed:
            server.stdin.close()  # EOF: protocol_peer shuts down
        try:
            code = server.wait(WAIT)
            if code != 0 and not failed:
                failed.append("protocol_peer exit status %d" % code)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
            failed.append("protocol_peer did not exit on stdin EOF")
    if failed:
        print("FAILED: %s" % ", ".join(failed))
        return 1
    print("all scenarios passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
