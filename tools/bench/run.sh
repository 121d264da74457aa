#!/usr/bin/env bash
# Duplex side by side with the raw ZeroMQ + msgpack floor, gRPC and Cap'n Proto, in one run.
#
#   tools/bench/run.sh            set up, build, every system, 3 repetitions (about 15 minutes)
#   tools/bench/run.sh --quick    Duplex's cases only, small and once: checks that every case
#                                 gives a result (CTest label `bench`), never how fast it is
#
# Options: --reps N (3)   --out DIR (bench-results)   --build-dir DIR (build)   --no-setup
#          --systems "duplex zmq grpc capnp"   --peers DIR (../shared/bench/peers)
#
# Every (case, repetition, system) runs a fresh server and a fresh client process on loopback,
# the server pinned to CPU 1 and the client to CPU 0, both under /usr/bin/time -v (CPU seconds
# and peak RSS). The systems take turns within each repetition, so that a slow minute of this
# shared machine hits them alike; report.py takes the median of the repetitions and divides.
# Writes results.tsv (one row per process pair), results.json, results.md and chart.png in --out.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

quick=0
reps=3
out="$repo/bench-results"
build="$repo/build"
setup=1
systems="duplex zmq grpc capnp"
peers_src="$repo/../shared/bench/peers"
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --reps) reps="$2"; shift ;;
    --out) out="$2"; shift ;;
    --build-dir) build="$2"; shift ;;
    --no-setup) setup=0 ;;
    --systems) systems="$2"; shift ;;
    --peers) peers_src="$2"; shift ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
if [ "$quick" = 1 ]; then
  reps=1
  systems="duplex"
fi
mkdir -p "$out/raw"
out="$(cd "$out" && pwd)"
peers_build="$out/peers-build"

# --- setup and build -----------------------------------------------------------------------
if [ "$setup" = 1 ]; then
  bash "$repo/tools/setup.sh" && bash "$here/setup.sh" || { echo "run.sh: setup failed" >&2; exit 1; }
fi
if [ ! -x "$build/tools/bench/duplex-bench-client" ] || [ "$quick" = 0 ]; then
  cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
    cmake --build "$build" -j2 --target duplex-bench-server duplex-bench-client \
      duplex-bench-channels >/dev/null || { echo "run.sh: building Duplex failed" >&2; exit 1; }
fi
bench_bin="$build/tools/bench"
wanted() { [[ " $systems " == *" $1 "* ]]; }
if [ "$quick" = 0 ] && { wanted zmq || wanted grpc || wanted capnp; }; then
  if [ ! -x "$peers_src/build.sh" ]; then
    echo "run.sh: no peer harness at $peers_src (--peers DIR)" >&2
    exit 1
  fi
  BUILD_DIR="$peers_build" "$peers_src/build.sh" >"$out/peers-build.log" 2>&1 ||
    { echo "run.sh: building the peer programs failed, see $out/peers-build.log" >&2; exit 1; }
fi

# --- one case ------------------------------------------------------------------------------
timer=()
[ -x /usr/bin/time ] && timer=(/usr/bin/time -v)
[ "$quick" = 0 ] && [ ${#timer[@]} -eq 0 ] && { echo "run.sh: needs /usr/bin/time (package time)" >&2; exit 1; }
pin_server=()
pin_client=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  pin_server=(taskset -c 1)
  pin_client=(taskset -c 0)
fi

results="$out/results.tsv"
printf 'sys\ttransport\tmode\tsize\trep\tn\tsecs\trate\tp50_us\tp99_us\tcli_user\tcli_sys\tcli_rss_kb\tsrv_user\tsrv_sys\tsrv_rss_kb\n' >"$results"
{ date -u; uname -a; nproc; lscpu | grep -E 'Model name|^CPU\(s\)'; uptime; } >"$out/host.txt" 2>/dev/null
failures=0
# Below the kernel's ephemeral range (32768 and up), where a client's own connections could
# hold the port a server is about to bind.
port=$((20000 + RANDOM % 8000))

time_field() { [ -f "$1" ] && grep -F "$2" "$1" | head -1 | awk -F': ' '{print $2}'; }

# The virtual CPUs of a shared machine change speed for seconds at a time (the host's other
# load), and a case's ratio depends on which core was slow during it (Duplex's stream is bound
# by its sender, the floor's by its receiver). Before each case, a fixed loop is timed on each
# pinned core; report.py shows how far apart they were.
probe_cores() { # label
  [ ${#pin_client[@]} -eq 0 ] && return 0
  local line="case=$1" cpu t0 t1
  for cpu in 0 1; do
    t0=$(date +%s%N)
    taskset -c "$cpu" awk 'BEGIN { for (i = 0; i < 6000000; i++) x += i % 7; }'
    t1=$(date +%s%N)
    line="$line cpu${cpu}_ms=$(((t1 - t0) / 1000000))"
  done
  echo "$line" >>"$out/probe.txt"
}

# Waits until the server accepts: Duplex's server says READY once bound; for the others, a TCP
# listener on the port.
wait_ready() { # pid sys port server-stdout
  for _ in $(seq 1 200); do
    kill -0 "$1" 2>/dev/null || return 1
    if [ "$2" = duplex ]; then grep -q '^READY' "$4" 2>/dev/null && return 0
    else ss -Hltn "sport = :$3" | grep -q . && return 0; fi
    sleep 0.05
  done
  return 1
}

# Stops a server with SIGTERM: the program under /usr/bin/time, so that time still reports.
stop_server() { # pid
  if [ ${#timer[@]} -gt 0 ]; then pkill -TERM -P "$1" 2>/dev/null; else kill -TERM "$1" 2>/dev/null; fi
  wait "$1" 2>/dev/null
}

# run_case SYS TRANSPORT MODE SIZE N REP
run_case() {
  local sys=$1 transport=$2 mode=$3 size=$4 n=$5 rep=$6
  port=$((port + 1))
  local tag="$sys-$transport-$mode-$size-r$rep"
  local address=(--port "$port")
  if [ "$transport" = ipc ]; then
    rm -f "$out/raw/$tag.sock"
    address=(--endpoint "ipc://$out/raw/$tag.sock")
  fi
  local server client
  case $sys in
    duplex) server=("$bench_bin/duplex-bench-server" "${address[@]}")
            client=("$bench_bin/duplex-bench-client" "${address[@]}" --api "$transport") ;;
    zmq)    server=("$peers_build/zmq_server" --port "$port")
            client=("$peers_build/zmq_client" --port "$port" --api msgpack) ;;
    grpc)   server=("$peers_build/grpc_server" --port "$port" --api callback)
            client=("$peers_build/grpc_client" --port "$port" --api callback) ;;
    capnp)  server=("$peers_build/capnp_server" --port "$port")
            client=("$peers_build/capnp_client" --port "$port" --api kj) ;;
  esac
  client+=(--mode "$mode" --size "$size" --n "$n")
  [ "$quick" = 1 ] && client+=(--max-secs 2)

  local server_time="$out/raw/$tag.srv.time" client_time="$out/raw/$tag.cli.time"
  local timed_server=() timed_client=()
  [ ${#timer[@]} -gt 0 ] && timed_server=("${timer[@]}" -o "$server_time") &&
    timed_client=("${timer[@]}" -o "$client_time")
  "${timed_server[@]}" "${pin_server[@]}" "${server[@]}" >"$out/raw/$tag.srv.out" \
    2>"$out/raw/$tag.srv.err" &
  local server_pid=$!
  if ! wait_ready "$server_pid" "$sys" "$port" "$out/raw/$tag.srv.out"; then
    echo "FAILED $tag: the server did not start"; tail -3 "$out/raw/$tag.srv.err"
    stop_server "$server_pid"
    failures=$((failures + 1)); return
  fi
  timeout 180 "${timed_client[@]}" "${pin_client[@]}" "${client[@]}" >"$out/raw/$tag.cli.out" \
    2>"$out/raw/$tag.cli.err"
  local rc=$?
  stop_server "$server_pid"
  local line; line=$(grep '^RESULT' "$out/raw/$tag.cli.out" | tail -1)
  if [ $rc -ne 0 ] || [ -z "$line" ]; then
    echo "FAILED $tag (exit $rc)"; tail -3 "$out/raw/$tag.cli.err"
    failures=$((failures + 1)); return
  fi
  declare -A f=()
  for kv in ${line#RESULT }; do f[${kv%%=*}]=${kv#*=}; done
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
    "$sys" "$transport" "$mode" "$size" "$rep" "${f[n]}" "${f[secs]}" "${f[rate]}" \
    "${f[p50_us]}" "${f[p99_us]}" \
    "$(time_field "$client_time" 'User time')" "$(time_field "$client_time" 'System time')" \
    "$(time_field "$client_time" 'Maximum resident')" \
    "$(time_field "$server_time" 'User time')" "$(time_field "$server_time" 'System time')" \
    "$(time_field "$server_time" 'Maximum resident')" >>"$results"
  echo "$tag: ${line#RESULT }"
}

# idle_channels N REP: bytes per idle channel on each side (Duplex only).
idle_channels() {
  local n=$1 rep=$2
  port=$((port + 1))
  local tag="duplex-tcp-idle-$n-r$rep" limit=$((n + 1000))
  "${pin_server[@]}" "$bench_bin/duplex-bench-server" --port "$port" --max-channels "$limit" \
    >"$out/raw/$tag.srv.out" 2>"$out/raw/$tag.srv.err" &
  local server_pid=$!
  if ! wait_ready "$server_pid" duplex "$port" "$out/raw/$tag.srv.out"; then
    echo "FAILED $tag: the server did not start"; failures=$((failures + 1))
    kill -TERM "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; return
  fi
  timeout 300 "${pin_client[@]}" "$bench_bin/duplex-bench-channels" --port "$port" --n "$n" \
    --max-channels "$limit" >"$out/raw/$tag.cli.out" 2>"$out/raw/$tag.cli.err"
  local rc=$?
  kill -TERM "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null
  local line; line=$(grep '^RESULT' "$out/raw/$tag.cli.out" | tail -1)
  if [ $rc -ne 0 ] || [ -z "$line" ]; then
    echo "FAILED $tag (exit $rc)"; tail -3 "$out/raw/$tag.cli.err"
    failures=$((failures + 1)); return
  fi
  echo "$line" | sed "s/^RESULT /RESULT rep=$rep /" >>"$out/idle.txt"
  echo "$tag: ${line#RESULT }"
}

# --- the matrix ----------------------------------------------------------------------------
# MODE SIZE N: the shared harness's cases (unary calls also stop after --max-secs, 20 s).
cases=(
  "unary_seq 16 100000"
  "unary_inflight 16 200000"
  "unary_inflight 1024 200000"
  "server_stream 16 1000000"
  "pingpong 16 100000"
)
idle_counts=(1000 10000 100000)
if [ "$quick" = 1 ]; then
  cases=("unary_seq 16 2000" "unary_inflight 16 5000" "unary_inflight 1024 5000"
    "server_stream 16 20000" "pingpong 16 2000")
  idle_counts=(1000)
fi
: >"$out/idle.txt"
: >"$out/probe.txt"
for rep in $(seq 1 "$reps"); do
  for c in "${cases[@]}"; do
    read -r mode size n <<<"$c"
    probe_cores "$mode-$size-r$rep"
    for sys in $systems; do run_case "$sys" tcp "$mode" "$size" "$n" "$rep"; done
    # Duplex over ipc too, where the other systems have no twin.
    if wanted duplex && { [ "$mode" = unary_seq ] || [ "$mode" = server_stream ]; }; then
      run_case duplex ipc "$mode" "$size" "$n" "$rep"
    fi
    # The stream again, 4 times as long, for Duplex and the floor: the difference of the two
    # runs' CPU is the CPU of the extra messages alone, without process start and warm-up.
    if [ "$mode" = server_stream ] && [ "$quick" = 0 ]; then
      for sys in duplex zmq; do
        wanted "$sys" && run_case "$sys" tcp-long "$mode" "$size" $((n * 4)) "$rep"
      done
    fi
  done
  if wanted duplex; then
    for n in "${idle_counts[@]}"; do idle_channels "$n" "$rep"; done
  fi
done

/usr/bin/python3 "$here/report.py" --out "$out" $([ "$quick" = 1 ] && echo --no-chart) ||
  failures=$((failures + 1))
[ -f "$out/results.md" ] && cat "$out/results.md"
if [ "$failures" -gt 0 ]; then
  echo "run.sh: $failures case(s) failed; see $out/raw" >&2
  exit 1
fi
