#!/usr/bin/env bash
# Runs the actor-service example: the calc server in one process, called from another
# process's actor and from the duplex CLI, then the same over CURVE. Exits non-zero on the
# first wrong answer.
set -euo pipefail
server=$1 client=$2 cli=$3

work=$(mktemp -d)
server_pids=()
cleanup() {
  for pid in "${server_pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

# Starts a calc server with the given arguments; sets $endpoint to where it listens.
start_server() {
  local endpoint_file="$work/endpoint-${#server_pids[@]}"
  "$server" --for 30 "$@" >"$endpoint_file" &
  server_pids+=($!)
  for _ in $(seq 1 200); do
    [ -s "$endpoint_file" ] && break
    sleep 0.05
  done
  endpoint=$(head -n 1 "$endpoint_file")
  [ -n "$endpoint" ] || { echo "the server printed no endpoint"; exit 1; }
}

start_server
echo "calc server at $endpoint"

echo "-- from another process's actor"
timeout 20 "$client" "$endpoint"

echo "-- from the CLI"
reply=$(timeout 20 "$cli" call "$endpoint" calc/add '{"a": 40, "b": 2}' --timeout 5s)
echo "duplex call calc/add {a: 40, b: 2} -> $reply"
grep -q '"value":42' <<<"$reply"

status=0
timeout 20 "$cli" call "$endpoint" calc/divide '{"a": 1, "b": 0}' --timeout 5s || status=$?
echo "duplex call calc/divide {a: 1, b: 0} -> exit $status (invalid_argument is 3, so 4)"
[ "$status" -eq 4 ]

timeout 20 "$cli" describe "$endpoint" calc --timeout 5s | grep -q '"request_type":"Operands"'

echo "-- over CURVE: keys from duplex keygen, the server lets in the client's key only"
timeout 20 "$cli" keygen "$work/server" >/dev/null
timeout 20 "$cli" keygen "$work/client" >/dev/null
start_server --key "$work/server" --allow "$work/client"
echo "calc server (CURVE) at $endpoint"
timeout 20 "$client" "$endpoint" --key "$work/client" --server-key "$work/server"
reply=$(timeout 20 "$cli" call "$endpoint" calc/add '{"a": 1, "b": 2}' --timeout 5s \
  --key "$work/client" --server-key "$work/server")
echo "duplex call --key client calc/add {a: 1, b: 2} -> $reply"
grep -q '"value":3' <<<"$reply"
status=0
timeout 20 "$cli" call "$endpoint" calc/add '{"a": 1, "b": 2}' --timeout 5s 2>"$work/refused" ||
  status=$?
cat "$work/refused"
# libzmq tells the client about the mechanism mismatch (unauthenticated, exit 17) or, when the
# server hangs up first, gives no detail (unavailable, exit 15).
echo "duplex call without --key -> exit $status (refused: 17, or 15 without detail)"
[ "$status" -eq 17 ] || [ "$status" -eq 15 ]
grep -q "the handshake with '$endpoint' failed" "$work/refused"
echo "actor service example: all checks passed"
