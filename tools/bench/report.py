#!/usr/bin/python3
"""Turns run.sh's raw rows into results.json, results.md (absolute values, ratios, targets)
and chart.png. Every figure is the median of the repetitions of one run; every ratio divides
two figures of that same run.

    report.py --out DIR [--no-chart]      (reads DIR/results.tsv, idle.txt, probe.txt, host.txt)
"""
import argparse
import csv
import json
import statistics
import sys
from pathlib import Path

SYSTEMS = {"duplex": "Duplex", "zmq": "floor (ZeroMQ+msgpack)", "grpc": "gRPC", "capnp": "Cap'n Proto"}
CASES = [  # (mode, size, label)
    ("unary_seq", 16, "unary 16 B, one at a time"),
    ("unary_inflight", 16, "unary 16 B, 32 in flight"),
    ("unary_inflight", 1024, "unary 1 KiB, 32 in flight"),
    ("server_stream", 16, "stream 1M x 16 B"),
    ("pingpong", 16, "ping-pong 16 B on one stream"),
]
IDLE_TARGET_BYTES = 4096


def number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def cpu_seconds(row):
    parts = [number(row[k]) for k in ("cli_user", "cli_sys", "srv_user", "srv_sys")]
    return None if None in parts else sum(parts)


def summarize_runs(rows):
    """Median per (sys, transport, mode, size) of the figures of its repetitions."""
    groups = {}
    for row in rows:
        key = (row["sys"], row["transport"], row["mode"], int(row["size"]))
        groups.setdefault(key, []).append(row)
    summary = {}
    for key, runs in groups.items():
        cpu_per_million = [
            cpu_seconds(r) / number(r["n"]) * 1e6 if cpu_seconds(r) is not None else None
            for r in runs
        ]
        summary[key] = {
            "runs": len(runs),
            "rate": median(number(r["rate"]) for r in runs),
            "p50_us": median(number(r["p50_us"]) for r in runs),
            "p99_us": median(number(r["p99_us"]) for r in runs),
            "cpu_s_per_million": median(cpu_per_million),
            "client_rss_kb": median(number(r["cli_rss_kb"]) for r in runs),
            "server_rss_kb": median(number(r["srv_rss_kb"]) for r in runs),
            "rates": [number(r["rate"]) for r in runs],
        }
    return summary


def read_idle(path):
    """bench-channels RESULT lines -> {n: {client, server}} medians."""
    by_n = {}
    if not path.exists():
        return {}
    for line in path.read_text().splitlines():
        fields = dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv)
        entry = by_n.setdefault(int(fields["n"]), {"client": [], "server": []})
        entry["client"].append(number(fields["client_bytes_per_channel"]))
        entry["server"].append(number(fields["server_bytes_per_channel"]))
    return {
        n: {"client_bytes_per_channel": median(v["client"]),
            "server_bytes_per_channel": median(v["server"]), "runs": len(v["client"])}
        for n, v in sorted(by_n.items())
    }


def ratio(a, b):
    return a / b if a is not None and b not in (None, 0) else None


def fmt(value, digits=0):
    if value is None:
        return "–"
    if digits == 0:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def fmt_ratio(value):
    return "–" if value is None else f"{value:.2f}×"


def get(summary, sys, mode, size, field, transport="tcp"):
    entry = summary.get((sys, transport, mode, size))
    return entry[field] if entry else None


def marginal_stream_cpu(rows):
    """CPU s per 1M streamed messages without process start and warm-up: per system, the
    median over repetitions of (CPU of the long run - CPU of the normal run) / extra messages."""
    by_rep = {}
    for row in rows:
        if row["mode"] != "server_stream" or row["transport"] not in ("tcp", "tcp-long"):
            continue
        by_rep.setdefault((row["sys"], row["rep"]), {})[row["transport"]] = row
    per_sys = {}
    for (sys_name, _), pair in by_rep.items():
        short, long_run = pair.get("tcp"), pair.get("tcp-long")
        if not short or not long_run:
            continue
        extra = number(long_run["n"]) - number(short["n"])
        if cpu_seconds(short) is None or cpu_seconds(long_run) is None or not extra:
            continue
        per_sys.setdefault(sys_name, []).append(
            (cpu_seconds(long_run) - cpu_seconds(short)) / extra * 1e6)
    return {s: median(v) for s, v in per_sys.items()}


def targets(summary, idle, marginal=None):
    """The targets of the benchmark, each with its measured ratio and whether it holds."""
    out = []

    def check(name, value, bound, at_least):
        holds = None if value is None else (value >= bound if at_least else value <= bound)
        out.append({"target": name, "measured": value, "bound": bound,
                    "at_least": at_least, "holds": holds})

    stream = lambda s: get(summary, s, "server_stream", 16, "rate")
    inflight = lambda s: get(summary, s, "unary_inflight", 16, "rate")
    check("stream 16 B msgs/s ÷ floor", ratio(stream("duplex"), stream("zmq")), 1.0, True)
    check("stream 16 B msgs/s ÷ gRPC", ratio(stream("duplex"), stream("grpc")), 15.0, True)
    check("unary 32 in flight calls/s ÷ floor", ratio(inflight("duplex"), inflight("zmq")), 0.5, True)
    check("unary 32 in flight calls/s ÷ gRPC", ratio(inflight("duplex"), inflight("grpc")), 3.0, True)
    check("unary 32 in flight calls/s ÷ Cap'n Proto",
          ratio(inflight("duplex"), inflight("capnp")), 3.0, True)
    check("unary one at a time p50 ÷ floor",
          ratio(get(summary, "duplex", "unary_seq", 16, "p50_us"),
                get(summary, "zmq", "unary_seq", 16, "p50_us")), 1.5, False)
    check("CPU s per 1M streamed ÷ floor",
          ratio(get(summary, "duplex", "server_stream", 16, "cpu_s_per_million"),
                get(summary, "zmq", "server_stream", 16, "cpu_s_per_million")), 1.5, False)
    if marginal and "duplex" in marginal and "zmq" in marginal:
        check("CPU s per 1M streamed ÷ floor, marginal (long run − normal run)",
              ratio(marginal["duplex"], marginal["zmq"]), 1.5, False)
    if idle:
        worst = max(idle.items())[1]
        check(f"idle channel bytes per side (N={max(idle)})",
              max(worst["client_bytes_per_channel"] or 0, worst["server_bytes_per_channel"] or 0),
              IDLE_TARGET_BYTES, False)
    return out


def read_probes(path):
    """probe_cores lines -> [{case, cpu0_ms, cpu1_ms}]."""
    if not path.exists():
        return []
    probes = []
    for line in path.read_text().splitlines():
        fields = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
        if "cpu0_ms" in fields and "cpu1_ms" in fields:
            probes.append({"case": fields.get("case", ""), "cpu0_ms": number(fields["cpu0_ms"]),
                           "cpu1_ms": number(fields["cpu1_ms"])})
    return probes


# A probe whose cores differ by more than this is reported: the case's ratios may lean.
SKEW_LIMIT = 1.2


def probe_lines(probes):
    if not probes:
        return []
    def skew(p):
        fast, slow = sorted((p["cpu0_ms"], p["cpu1_ms"]))
        return slow / fast if fast > 0 else 1.0
    skewed = [p for p in probes if skew(p) > SKEW_LIMIT]
    lines = ["", "Core speed before each case (a fixed loop timed on each pinned core, ms; "
             "the client runs on CPU 0, the server on CPU 1):", "",
             "| | CPU 0 | CPU 1 |", "|---|--:|--:|"]
    for name, pick in (("fastest", min), ("median", median), ("slowest", max)):
        lines.append(f"| {name} | {fmt(pick([p['cpu0_ms'] for p in probes]))} "
                     f"| {fmt(pick([p['cpu1_ms'] for p in probes]))} |")
    lines += ["", f"{len(skewed)} of {len(probes)} cases began with one core more than "
              f"{SKEW_LIMIT:.1f} times slower than the other"
              + (": " + ", ".join(f"{p['case']} ({p['cpu0_ms']:.0f}/{p['cpu1_ms']:.0f} ms)"
                                  for p in skewed) if skewed else "") + "."]
    return lines


def markdown(summary, idle, target_rows, host, marginal=None, probes=()):
    lines = []
    if host:
        lines += ["```", host.strip(), "```", ""]
    lines += ["| case | system | msgs or calls/s | p50 µs | p99 µs | CPU s / 1M | client RSS MiB "
              "| server RSS MiB | runs |", "|---|---|--:|--:|--:|--:|--:|--:|--:|"]
    for mode, size, label in CASES:
        for transport in ("tcp", "ipc"):  # tcp-long rows feed the marginal CPU figure only
            for sys in SYSTEMS:
                entry = summary.get((sys, transport, mode, size))
                if not entry:
                    continue
                name = SYSTEMS[sys] + (" (ipc)" if transport == "ipc" else "")
                rss = lambda kb: None if kb is None else kb / 1024
                lines.append(
                    f"| {label} | {name} | {fmt(entry['rate'])} | {fmt(entry['p50_us'], 1)} "
                    f"| {fmt(entry['p99_us'], 1)} | {fmt(entry['cpu_s_per_million'], 2)} "
                    f"| {fmt(rss(entry['client_rss_kb']), 1)} | {fmt(rss(entry['server_rss_kb']), 1)} "
                    f"| {entry['runs']} |")
    lines += ["", "Ratios (Duplex over tcp ÷ the other system; rates: higher is better for Duplex, "
              "p50 and CPU: lower is better):", "",
              "| case | figure | ÷ floor | ÷ gRPC | ÷ Cap'n Proto |", "|---|---|--:|--:|--:|"]
    for mode, size, label in CASES:
        for field, what in (("rate", "rate"), ("p50_us", "p50"), ("cpu_s_per_million", "CPU/1M")):
            mine = get(summary, "duplex", mode, size, field)
            if mine is None or (field == "p50_us" and mode == "server_stream"):
                continue
            ratios = [ratio(mine, get(summary, s, mode, size, field)) for s in ("zmq", "grpc", "capnp")]
            if all(r is None for r in ratios):
                continue  # a run of Duplex alone (--quick)
            cells = [fmt_ratio(r) for r in ratios]
            lines.append(f"| {label} | {what} | " + " | ".join(cells) + " |")
    if marginal:
        lines += ["", "CPU s per 1M streamed, marginal: the CPU of a stream 4 times as long minus "
                  "the normal run's, per million extra messages (no process start, no warm-up):",
                  "", "| system | CPU s / 1M |", "|---|--:|"]
        for sys_name, value in sorted(marginal.items()):
            lines.append(f"| {SYSTEMS.get(sys_name, sys_name)} | {fmt(value, 2)} |")
    if idle:
        lines += ["", "Idle open channels (RSS growth ÷ N):", "",
                  "| N | client bytes/channel | server bytes/channel |", "|--:|--:|--:|"]
        for n, v in idle.items():
            lines.append(f"| {n:,} | {fmt(v['client_bytes_per_channel'])} "
                         f"| {fmt(v['server_bytes_per_channel'])} |")
    lines += ["", "Targets:", "", "| target | measured | bound | holds |", "|---|--:|--:|---|"]
    for t in target_rows:
        measured = t["measured"]
        shown = fmt(measured) if t["target"].startswith("idle") else fmt_ratio(measured)
        bound = (fmt(t["bound"]) + " B") if t["target"].startswith("idle") else fmt_ratio(t["bound"])
        relation = "≥" if t["at_least"] else "≤"
        holds = {True: "yes", False: "**no**", None: "not measured"}[t["holds"]]
        lines.append(f"| {t['target']} | {shown} | {relation} {bound} | {holds} |")
    lines += probe_lines(list(probes))
    return "\n".join(lines) + "\n"


def chart(summary, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    systems = [s for s in SYSTEMS if any(k[0] == s for k in summary)]
    fig, (rates, latency) = plt.subplots(1, 2, figsize=(13, 5), gridspec_kw={"width_ratios": [3, 2]})
    width = 0.8 / max(len(systems), 1)
    for i, sys in enumerate(systems):
        values = [get(summary, sys, m, s, "rate") or 0 for m, s, _ in CASES]
        rates.bar([c + i * width for c in range(len(CASES))], values, width, label=SYSTEMS[sys])
        lat_cases = [c for c in CASES if c[0] in ("unary_seq", "pingpong")]
        lat = [get(summary, sys, m, s, "p50_us") or 0 for m, s, _ in lat_cases]
        latency.bar([c + i * width for c in range(len(lat_cases))], lat, width, label=SYSTEMS[sys])
    rates.set_yscale("log")
    rates.set_ylabel("messages or calls per second (log)")
    rates.set_xticks([c + width * (len(systems) - 1) / 2 for c in range(len(CASES))])
    rates.set_xticklabels([label for _, _, label in CASES], rotation=15, ha="right", fontsize=8)
    rates.set_title("throughput (higher is better)")
    rates.legend(fontsize=8)
    lat_labels = [label for m, _, label in CASES if m in ("unary_seq", "pingpong")]
    latency.set_xticks([c + width * (len(systems) - 1) / 2 for c in range(len(lat_labels))])
    latency.set_xticklabels(lat_labels, rotation=15, ha="right", fontsize=8)
    latency.set_ylabel("p50 round trip, µs")
    latency.set_title("latency (lower is better)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--no-chart", action="store_true")
    args = parser.parse_args()

    with open(args.out / "results.tsv", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    summary = summarize_runs(rows)
    idle = read_idle(args.out / "idle.txt")
    host_file = args.out / "host.txt"
    host = host_file.read_text() if host_file.exists() else ""
    marginal = marginal_stream_cpu(rows)
    target_rows = targets(summary, idle, marginal)
    probes = read_probes(args.out / "probe.txt")

    document = {
        "host": host,
        "cases": [dict(zip(("sys", "transport", "mode", "size"), k), **v)
                  for k, v in sorted(summary.items())],
        "idle_channels": [dict(n=n, **v) for n, v in idle.items()],
        "stream_cpu_s_per_million_marginal": marginal,
        "targets": target_rows,
        "core_probes": probes,
    }
    (args.out / "results.json").write_text(json.dumps(document, indent=2) + "\n")
    (args.out / "results.md").write_text(
        markdown(summary, idle, target_rows, host, marginal, probes))
    if not args.no_chart:
        try:
            chart(summary, args.out / "chart.png")
        except ImportError:
            print("report.py: no matplotlib (python3-matplotlib), no chart", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
