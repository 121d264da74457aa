#!/usr/bin/env bash
# Runs the actor-service example: the calc server in one process, called from another
# process's actor and from the duplex CLI. Exits non-zero on the first wrong answer.
set -euo pipefail
server=$1 client=$2 cli=$3

endpoint_file=$(mktemp)
"$server" --for 30 >"$endpoint_file" &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; rm -f "$endpoint_file"' EXIT

for _ in $(seq 1 200); do
  [ -s "$endpoint_file" ] && break
  sleep 0.05
done
endpoint=$(head -n 1 "$endpoint_file")
[ -n "$endpoint" ] || { echo "the server printed no endpoint"; exit 1; }
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
echo "actor service example: all checks passed"
