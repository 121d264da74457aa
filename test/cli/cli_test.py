#!/usr/bin/python3
"""Checks the duplex command-line tool by running it: usage: cli_test.py PATH/TO/duplex.

Every process it starts is killed on exit, every wait is bounded.
"""
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time

DUPLEX = sys.argv[1]
STEP_LIMIT = 15  # seconds any one command may take
background = []
failures = []


def run(*args, stdin=None, limit=STEP_LIMIT):
    """Runs duplex with args; returns (exit status, stdout, stderr)."""
    done = subprocess.run([DUPLEX, *args], input=stdin, capture_output=True, text=True,
                          timeout=limit)
    return done.returncode, done.stdout, done.stderr


def start(*args, read_from="stdout"):
    """Starts duplex in the background and returns it with the first line it printed."""
    proc = subprocess.Popen([DUPLEX, *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    background.append(proc)
    stream = getattr(proc, read_from)
    ready, _, _ = select.select([stream], [], [], STEP_LIMIT)
    if not ready:
        raise RuntimeError(f"no first line from duplex {' '.join(args)}")
    return proc, stream.readline().strip()


def stop_all():
    for proc in background:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=STEP_LIMIT)


def check(name, condition, detail=""):
    print(("ok   " if condition else "FAIL ") + name + ("" if condition else f": {detail}"))
    if not condition:
        failures.append(name)


def check_call(name, result, status, stdout_check=None, stderr_has=None):
    code, out, err = result
    detail = f"exit {code}, stdout {out!r}, stderr {err!r}"
    good = code == status
    if good and stdout_check is not None:
        try:
            good = stdout_check(out)
        except (ValueError, KeyError, IndexError, TypeError):
            good = False
    if good and stderr_has is not None:
        good = stderr_has in err
    check(name, good, detail)


def lines(out):
    return [json.loads(line) for line in out.splitlines()]


def test_echo(endpoint):
    code, out, err = run("list", endpoint)
    names = {s["name"] for s in json.loads(out)["services"]} if code == 0 else set()
    check("list shows echo and the built-ins",
          {"echo", "duplex.reflect", "duplex.health", "duplex.ping"} <= names, f"{out} {err}")

    code, out, err = run("describe", endpoint, "echo")
    methods = {m["name"]: m for m in json.loads(out)["methods"]} if code == 0 else {}
    check("describe echo shows its methods and shapes",
          methods.get("echo", {}).get("shape") == "unary"
          and methods.get("stream", {}).get("shape") == "bidi"
          and methods["echo"]["description"] and methods["echo"]["request_type"] == "Any",
          f"{out} {err}")

    document = {"text": "grüße ✓", "n": -42, "big": 2**53, "pi": 3.25, "ok": True,
                "none": None, "list": [1, "two", [3.5, {"deep": []}]], "empty": {}}
    check_call("call echo/echo round-trips JSON", run("call", endpoint, "echo/echo",
                                                      json.dumps(document)),
               0, lambda out: json.loads(out) == document)
    check_call("call with - reads the request from stdin",
               run("call", endpoint, "echo/echo", "-", stdin='[1, 2, "three"]\n'),
               0, lambda out: json.loads(out) == [1, 2, "three"])
    check_call("call without a request sends {}", run("call", endpoint, "echo/echo"),
               0, lambda out: json.loads(out) == {})
    check_call("--pretty indents", run("call", "--pretty", endpoint, "echo/echo", '{"a":[1]}'),
               0, lambda out: "\n  " in out and json.loads(out) == {"a": [1]})

    requests = [{"i": 1}, "two", [3], None]
    check_call("stream echo/stream returns each line",
               run("stream", endpoint, "echo/stream",
                   stdin="".join(json.dumps(r) + "\n" for r in requests) + "\n"),
               0, lambda out: lines(out) == requests)
    check_call("stream with a request argument", run("stream", endpoint, "echo/stream", '{"x":1}'),
               0, lambda out: lines(out) == [{"x": 1}])
    check_call("stream to a unary method", run("stream", endpoint, "echo/echo", stdin='{"u":1}\n'),
               0, lambda out: lines(out) == [{"u": 1}])
    check_call("stream to a client-streaming method",
               run("stream", endpoint, "echo/collect", stdin='1\n"b"\n{"c":3}\n'),
               0, lambda out: lines(out) == [[1, "b", {"c": 3}]])
    check_call("stream to a server-streaming method",
               run("stream", "--connect", endpoint, "echo/spread", '[{"a":1}, 2, "three"]'),
               0, lambda out: lines(out) == [{"a": 1}, 2, "three"])
    check_call("stream: a line that is not JSON is invalid_argument",
               run("stream", endpoint, "echo/stream", stdin='{"fine":1}\nnot json\n'),
               4, stderr_has="invalid_argument: line 2 of stdin")

    check_call("ping names the server and the round trip",
               run("ping", endpoint), 0,
               lambda out: json.loads(out)["peer_id"] == "cli-test-server"
               and json.loads(out)["rtt_ms"] >= 0)
    check_call("-H headers reach the server",
               run("call", "-H", "x-trace=abc 123", "-H", "tenant=blue", endpoint,
                   "echo/headers"), 0,
               lambda out: json.loads(out)["x-trace"] == "abc 123"
               and json.loads(out)["tenant"] == "blue"
               and json.loads(out)["content-type"] == "application/json")

    check_call("unknown method is unimplemented (13)", run("call", endpoint, "echo/nope", "{}"),
               13, stderr_has="unimplemented: ")
    check_call("unknown service is unimplemented (13)", run("call", endpoint, "nope/nope"),
               13, stderr_has="unimplemented: ")
    check_call("describe of an unknown service is not_found (6)",
               run("describe", endpoint, "nope"), 6, stderr_has="not_found: ")
    check_call("a bad request is invalid_argument (4)",
               run("call", endpoint, "echo/echo", "{broken"), 4, stderr_has="invalid_argument: ")


def test_msgpack_caller(endpoint):
    """echo serves msgpack callers too; checked with the protocol test's Python client."""
    try:
        sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
        import duplex_client
    except ImportError as missing:
        print(f"skip msgpack caller: {missing}")
        return
    conn = duplex_client.Connection(endpoint)
    try:
        conn.hello()
        document = {"n": 7, "list": [1, "x"], "nested": {"ok": True}}
        check("a msgpack caller gets echo/echo's answer",
              conn.call_unary("echo/echo", document, timeout_ms=5000) == document)
    finally:
        conn.close()


def test_usage():
    check_call("--help lists the exit statuses", run("--help"), 0,
               lambda out: "13    12  unimplemented" in out and "15    14  unavailable" in out)
    check_call("bad endpoint is invalid_argument (4)", run("ping", "no-such-transport"), 4,
               stderr_has="invalid_argument: ")
    check_call("bad --timeout is a usage error (4)",
               run("ping", "--timeout", "5parsecs", "tcp://127.0.0.1:1"), 4,
               stderr_has="invalid_argument: ")
    check_call("no command is a usage error (4)", run(), 4, stderr_has="invalid_argument: ")
    check_call("a missing METHOD is a usage error (4)", run("call", "tcp://127.0.0.1:1"), 4,
               stderr_has="METHOD is missing")
    check_call("a reserved header is a usage error (4)",
               run("call", "-H", "duplex-timeout=1", "tcp://127.0.0.1:1", "a/b"), 4,
               stderr_has="reserved")
    started = time.monotonic()
    check_call("nobody listening: deadline_exceeded (5) at the timeout",
               run("ping", "--timeout", "300ms", "tcp://127.0.0.1:1"), 5,
               stderr_has="deadline_exceeded: could not connect")
    check("... and it waited about the timeout", time.monotonic() - started < 5)


def test_exec():
    _, cat = start("serve", "--bind", "tcp://127.0.0.1:0", "--exit-after", "60s", "exec", "cat")
    check_call("exec cat returns the request", run("call", cat, "exec/run", '{"a": [1, 2]}'),
               0, lambda out: json.loads(out) == {"a": [1, 2]})
    check_call("describe exec explains exec/run", run("describe", cat, "exec"), 0,
               lambda out: json.loads(out)["methods"][0]["name"] == "run"
               and "`cat`" in json.loads(out)["description"])

    _, upper = start("serve", "--bind", "tcp://127.0.0.1:0", "--exit-after", "60s",
                     "exec", "tr", "a-z", "A-Z")
    check_call("exec tr a-z A-Z (argv form)", run("call", upper, "exec/run", '"hello"'),
               0, lambda out: json.loads(out) == "HELLO")

    _, text = start("serve", "--bind", "tcp://127.0.0.1:0", "--exit-after", "60s",
                    "exec", "echo plain text")
    check_call("exec output that is not JSON comes back as a string",
               run("call", text, "exec/run"), 0, lambda out: json.loads(out) == "plain text")

    _, failing = start("serve", "--bind", "tcp://127.0.0.1:0", "--exit-after", "60s",
                       "exec", "echo broken pipe dream >&2; exit 3")
    check_call("exec failure is unknown (3) with stderr", run("call", failing, "exec/run"),
               3, stderr_has="unknown: the command exited with status 3: broken pipe dream")

    _, slow = start("serve", "--bind", "tcp://127.0.0.1:0", "--exit-after", "60s",
                    "exec", "sleep 5")
    started = time.monotonic()
    check_call("--timeout 100ms against a slow method is deadline_exceeded (5)",
               run("call", "--timeout", "100ms", slow, "exec/run"), 5,
               stderr_has="deadline_exceeded: ")
    check("... and it returned promptly", time.monotonic() - started < 3)


def test_bind_mode():
    client, line = start("call", "--bind", "tcp://127.0.0.1:0", "--timeout", "10s", "echo/echo",
                         '{"reverse": true}', read_from="stderr")
    endpoint = line.removeprefix("listening on ")
    check("call --bind says where it listens", endpoint.startswith("tcp://127.0.0.1:"), line)
    server, first = start("serve", "--peer-id", "connecting-server", "--exit-after", "30s",
                          "--connect", endpoint, "echo")
    check("serve --connect prints its endpoint", first == endpoint, first)
    out, err = client.communicate(timeout=STEP_LIMIT)
    check("call --bind gets its answer from the peer that connected",
          client.returncode == 0 and json.loads(out) == {"reverse": True},
          f"exit {client.returncode}, {out!r}, {err!r}")
    server.send_signal(signal.SIGTERM)
    check("serve exits 0 on SIGTERM", server.wait(timeout=STEP_LIMIT) == 0)

    quick, endpoint = start("serve", "--bind", "tcp://127.0.0.1:0", "--exit-after", "2s")
    check_call("serve without a mode answers ping", run("ping", "--timeout", "1500ms", endpoint), 0)
    check("serve --exit-after stops by itself", quick.wait(timeout=STEP_LIMIT) == 0)


def keygen(path, *extra):
    """duplex keygen PATH; returns (exit status, stdout, stderr)."""
    return run("keygen", *extra, path)


def test_keygen(keys):
    pair = os.path.join(keys, "server")
    code, out, err = keygen(pair)
    public_key = out.strip()
    check("keygen prints a Z85 public key", code == 0 and len(public_key) == 40,
          f"exit {code}, {out!r}, {err!r}")
    check("keygen writes PATH with the public key",
          os.path.isfile(pair) and public_key in open(pair).read())
    check("keygen writes PATH_secret with mode 0600",
          os.path.isfile(pair + "_secret")
          and os.stat(pair + "_secret").st_mode & 0o777 == 0o600,
          oct(os.stat(pair + "_secret").st_mode) if os.path.exists(pair + "_secret") else "none")
    check_call("keygen refuses to overwrite: already_exists (7)", keygen(pair), 7,
               stderr_has="already_exists: ")
    check("... and leaves the key pair as it was", public_key in open(pair).read())
    os.chmod(pair + "_secret", 0o644)
    code, out, _ = keygen(pair, "--force")
    check("keygen --force replaces the pair",
          code == 0 and out.strip() != public_key and out.strip() in open(pair).read())
    check("... and the new secret file is 0600",
          os.stat(pair + "_secret").st_mode & 0o777 == 0o600)
    check_call("keygen into a missing directory is not_found (6)",
               keygen(os.path.join(keys, "nowhere", "key")), 6, stderr_has="not_found: ")
    check_call("keygen without PATH is a usage error (4)", run("keygen"), 4,
               stderr_has="invalid_argument: ")


def test_curve(keys):
    """A CURVE server with an allow-list directory; clients with and without allowed keys."""
    os.mkdir(os.path.join(keys, "clients"))
    client = os.path.join(keys, "clients", "client")
    stranger = os.path.join(keys, "stranger")
    server = os.path.join(keys, "server")
    server_key = keygen(server, "--force")[1].strip()
    keygen(client)
    keygen(stranger)

    _, endpoint = start("serve", "--bind", "tcp://127.0.0.1:0", "--exit-after", "60s",
                        "--key", server, "--allow", os.path.join(keys, "clients"), "echo")
    check("serve --key --allow prints its endpoint", endpoint.startswith("tcp://127.0.0.1:"),
          endpoint)
    check_call("call --key --server-key FILE over CURVE",
               run("call", "--key", client, "--server-key", server, endpoint, "echo/echo",
                   '{"secret": 42}'),
               0, lambda out: json.loads(out) == {"secret": 42})
    check_call("stream and --server-key as Z85 text",
               run("stream", "--key", client, "--server-key", server_key, endpoint,
                   "echo/stream", stdin='1\n"two"\n'),
               0, lambda out: lines(out) == [1, "two"])
    check_call("ping over CURVE", run("ping", "--key", client, "--server-key", server, endpoint),
               0, lambda out: json.loads(out)["rtt_ms"] >= 0)

    started = time.monotonic()
    check_call("a key not allowed is unauthenticated (17)",
               run("call", "--timeout", "10s", "--key", stranger, "--server-key", server,
                   endpoint, "echo/echo"),
               17, stderr_has="unauthenticated: ")
    check("... refused well within the timeout", time.monotonic() - started < 5,
          f"{time.monotonic() - started:.1f} s")
    # libzmq reports the mechanism mismatch to the client as such (unauthenticated) or, when
    # the server hangs up first, without detail (unavailable): either is a refusal.
    started = time.monotonic()
    code, out, err = run("call", "--timeout", "10s", endpoint, "echo/echo")
    check("no --key against a CURVE server is refused (17, or 15 without detail)",
          (code, err.split(":")[0]) in {(17, "unauthenticated"), (15, "unavailable")}
          and f"the handshake with '{endpoint}' failed" in err,
          f"exit {code}, stdout {out!r}, stderr {err!r}")
    check("... refused well within the timeout", time.monotonic() - started < 5,
          f"{time.monotonic() - started:.1f} s")

    # The other way round: the side that binds is the one with the allow-list.
    caller, line = start("call", "--bind", "tcp://127.0.0.1:0", "--timeout", "10s",
                         "--key", server, "--allow", client, "echo/echo", '"reverse"',
                         read_from="stderr")
    bound = line.removeprefix("listening on ")
    start("serve", "--connect", bound, "--exit-after", "30s", "--key", client, "--server-key",
          server_key, "echo")
    out, err = caller.communicate(timeout=STEP_LIMIT)
    check("call --bind --key --allow answered by serve --connect --key --server-key",
          caller.returncode == 0 and json.loads(out or "null") == "reverse",
          f"exit {caller.returncode}, {out!r}, {err!r}")


def test_bad_keys(keys):
    server = os.path.join(keys, "server")
    garbage = os.path.join(keys, "garbage")
    with open(garbage, "w") as f:
        f.write("not a certificate\n")
    target = "tcp://127.0.0.1:1"
    for name, args, message in [
            ("a missing --key file", ["--key", os.path.join(keys, "missing"), "--server-key",
                                      server], "--key: "),
            ("a --key file that is no certificate", ["--key", garbage, "--server-key", server],
             "--key: "),
            ("a --server-key that is no key", ["--key", server, "--server-key", "short"],
             "--server-key: "),
            ("--server-key without --key", ["--server-key", server], "needs --key"),
            ("--key without --server-key", ["--key", server], "needs --server-key")]:
        code, out, err = run("ping", *args, target)
        check(f"{name} is a usage error (4)",
              code == 4 and err.startswith("invalid_argument: ") and message in err,
              f"exit {code}, stdout {out!r}, stderr {err!r}")
    check_call("serve --bind --key without --allow is a usage error (4)",
               run("serve", "--bind", "tcp://127.0.0.1:0", "--key", server), 4,
               stderr_has="needs --allow or --allow-any")
    check_call("an --allow file that is no key is a usage error (4)",
               run("serve", "--bind", "tcp://127.0.0.1:0", "--key", server, "--allow", garbage),
               4, stderr_has="invalid_argument: --allow: ")


def main():
    started = time.monotonic()
    try:
        server, endpoint = start("serve", "--bind", "tcp://127.0.0.1:0", "--peer-id",
                                 "cli-test-server", "echo", "--exit-after", "60s")
        check("serve prints the bound endpoint", endpoint.startswith("tcp://127.0.0.1:")
              and not endpoint.endswith(":0"), endpoint)
        test_echo(endpoint)
        test_msgpack_caller(endpoint)
        test_usage()
        test_exec()
        test_bind_mode()
        with tempfile.TemporaryDirectory(prefix="duplex-cli-keys-") as keys:
            test_keygen(keys)
            test_curve(keys)
            test_bad_keys(keys)
    finally:
        stop_all()
    print(f"{len(failures)} failed in {time.monotonic() - started:.1f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
