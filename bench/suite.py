#!/usr/bin/python3
"""The benchmark suite: anysock serve side by side with reference servers,
the same load generator (anysock bench) against each, runs alternating
A/B/C (then C/B/A) so drift hits every server alike, medians and ratios in one table.

  bench/suite.py [--build build/release] [--rounds 3] [--duration 3] [--only NAME]

Loopback only; every run is bounded in time. Needs a build with the
reference servers (cmake --build --preset release builds them).
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys

WORKLOADS = [
    # name, bench arguments, what to read from the result
    ("1 x 64 B", ["-c", "1", "-s", "64"], "rate"),
    ("100 x 64 B", ["-c", "100", "-s", "64"], "rate"),
    ("1000 x 64 B", ["-c", "1000", "-s", "64"], "rate"),
    ("10 x 64 KiB", ["-c", "10", "-s", "65536"], "rate"),
    ("10000 idle", ["-c", "10000", "-s", "64", "--hold", "3", "--timeout", "30"], "rss"),
]


def servers(build):
    b = os.path.join(build, "bin")
    return {
        "anysock": [os.path.join(b, "anysock"), "serve", "tcp://[::1]:0", "--log-level", "warn"],
        "anysock -t2": [os.path.join(b, "anysock"), "serve", "tcp://[::1]:0", "--log-level", "warn", "-t", "2"],
        "epoll C": [os.path.join(b, "epoll_echo")],
        "threaded C": [os.path.join(b, "threaded_echo")],
    }


def rss_peak_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def round_order(names, rnd):
    """The contenders of round `rnd`: A B C, then C B A, and so on. Runs
    alternate so that drift (this VM's speed moves by up to 1.5x within
    minutes) hits both sides of one round alike; reversing every other round
    also cancels a steady drift between the first and the last of a round."""
    names = list(names)
    return names if rnd % 2 == 0 else names[::-1]


def ratio_text(a, b):
    """The median of round-by-round ratios (a ratio of medians would mix
    rounds from different speeds), with the lowest and highest round beside
    it so the table shows how far one round can be trusted."""
    r = [x / y for x, y in zip(a, b) if y]
    if not r:
        return ""
    text = f"{statistics.median(r):.2f}"
    return text + (f" ({min(r):.2f}-{max(r):.2f})" if len(r) > 1 else "")


def one_run(build, server_cmd, bench_args, kind, duration):
    srv = subprocess.Popen(server_cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = srv.stdout.readline().strip()
        if not line.startswith("listening "):
            raise RuntimeError(f"{server_cmd[0]} did not start: {line!r}")
        uri = line.split(" ", 1)[1]
        cmd = [os.path.join(build, "bin", "anysock"), "bench", uri, "--json", *bench_args]
        if kind == "rate":
            cmd += ["-d", str(duration), "-w", "1"]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 120)
        if out.returncode != 0:
            raise RuntimeError(f"bench failed ({out.returncode}): {out.stderr.strip()}")
        r = json.loads(out.stdout)
        if r["mismatches"] or r["errors"]:
            raise RuntimeError(f"bench saw errors: {r}")
        return r["round_trips_per_s"] if kind == "rate" else rss_peak_mib(srv.pid)
    finally:
        srv.kill()
        srv.wait(timeout=10)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build/release")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=float, default=3)
    ap.add_argument("--only", help="run only workloads whose name contains this")
    a = ap.parse_args()

    srvs = servers(a.build)
    for name, cmd in srvs.items():
        if not os.access(cmd[0], os.X_OK):
            sys.exit(f"suite: {cmd[0]} is missing; build first: cmake --preset release && cmake --build --preset release")
    results = {}  # (workload, server) -> [values]
    for wname, args, kind in WORKLOADS:
        if a.only and a.only not in wname:
            continue
        for rnd in range(a.rounds):
            for sname in round_order(srvs, rnd):
                v = one_run(a.build, srvs[sname], args, kind, a.duration)
                results.setdefault((wname, sname), []).append(v)
                print(f"  {wname:12} round {rnd + 1}: {sname:11} {v:12.1f}", file=sys.stderr, flush=True)

    names = list(srvs)
    print(f"\nanysock bench suite, {datetime.date.today()}, {platform.node()}, {os.cpu_count()} cores, "
          f"{platform.release()}; medians of {a.rounds} alternating runs of {a.duration:g} s "
          f"(A B C, then C B A); ratios: median of the per-round ratios (lowest-highest round)")
    print("round trips/s (higher is better), or peak server RSS in MiB for the idle row (lower is better)\n")
    print("| workload | " + " | ".join(names) + " | anysock / epoll C | anysock -t2 / anysock |")
    print("|---|" + "---|" * (len(names) + 2))
    for wname, _args, kind in WORKLOADS:
        if (wname, names[0]) not in results:
            continue
        med = {s: statistics.median(results[(wname, s)]) for s in names}
        unit = "MiB" if kind == "rss" else ""
        cells = [f"{med[s]:.1f} {unit}".strip() if kind == "rss" else f"{med[s]:.0f}" for s in names]
        ratio = ratio_text(results[(wname, "anysock")], results[(wname, "epoll C")])
        t2 = ratio_text(results[(wname, "anysock -t2")], results[(wname, "anysock")])
        print(f"| {wname} | " + " | ".join(cells) + f" | {ratio} | {t2} |")


if __name__ == "__main__":
    main()
