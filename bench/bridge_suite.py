#!/usr/bin/python3
"""The relay benchmark suite: `anysock bridge` side by side with socat and a
minimal C epoll relay (bench/reference/epoll_relay.c, the user-space limit
for a relay), and with no relay at all, the same load generator (anysock
bench, every byte verified) against each, runs alternating A B C D (then
D C B A) so drift hits every contender alike, medians and ratios in one table.

  bench/bridge_suite.py [--build build/release] [--rounds 4] [--duration 3] [--only NAME]
                        [--contenders direct,bridge,socat,relay]

Each run starts its own echo server E (anysock serve tcp://[::1]:0), the
relay in front of it, loads the relay (or E itself, for "direct") and stops
both; all of them alike. Loopback only; every process has a time bound and
is killed at the end of its run. A missing contender (no `bridge`
subcommand in the build, no socat, no epoll_relay) is one line on stderr
and exit 1, never a silent gap; --contenders leaves one out explicitly.
"""
import argparse
import datetime
import json
import os
import platform
import re
import select
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from suite import WORKLOADS, ratio_text, round_order  # bench/suite.py, beside this script

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ROWS = [w for w in WORKLOADS if w[0] in ("100 x 64 B", "1000 x 64 B")]  # 100 x 64 B is the target row
WARMUP_S = 1
START_S = 10  # a server or relay must be listening within this
CONTENDERS = ["direct", "anysock bridge", "socat", "C relay"]
RATIOS = [  # numerator, denominator, target
    ("anysock bridge", "C relay", "≥ 0.9"),
    ("anysock bridge", "socat", "≥ 1.8"),
    ("anysock bridge", "direct", None),
    ("C relay", "socat", None),
    ("C relay", "direct", None),
]


class Failed(Exception):
    pass


class Proc:
    """A process in its own session (socat forks a child per link: killpg
    takes them all), stderr kept in a file for the failure message."""

    def __init__(self, cmd):
        self.cmd = cmd
        self.err = tempfile.TemporaryFile(mode="w+")
        self.p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.err, start_new_session=True)

    def stderr_tail(self):
        self.err.seek(0)
        return " ".join(self.err.read().split()[-40:])

    def listening_uri(self):
        """The 'listening URI' line anysock serve, anysock bridge and the C
        references print once bound; within START_S."""
        deadline = time.monotonic() + START_S
        fd = self.p.stdout.fileno()
        raw = b""
        while not raw.endswith(b"\n"):  # a byte at a time from the pipe itself: nothing buffered past select
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise Failed(f"{shlex.join(self.cmd)}: not listening after {START_S} s: {self.stderr_tail()}")
            c = os.read(fd, 1)
            if not c:
                break
            raw += c
        line = raw.decode(errors="replace")
        if not line.startswith("listening "):
            raise Failed(f"{shlex.join(self.cmd)} did not start: {line.strip()!r} {self.stderr_tail()}")
        return line.split(" ", 1)[1].strip()

    def kill(self):
        try:
            os.killpg(self.p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.p.wait(timeout=10)
        self.p.stdout.close()
        self.err.close()


def free_port():
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
        s.bind(("::1", 0))
        return s.getsockname()[1]


def wait_listening(proc, port):
    """Until something listens on [::1]:port (socat prints nothing when
    bound; /proc/net/tcp6 tells without a probe connection, which socat
    would fork a child and an upstream link for)."""
    want = f"00000000000000000000000001000000:{port:04X}"
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        if proc.p.poll() is not None:
            raise Failed(f"{shlex.join(proc.cmd)} exited ({proc.p.returncode}): {proc.stderr_tail()}")
        with open("/proc/net/tcp6") as f:
            if any(l.split()[1] == want and l.split()[3] == "0A" for l in list(f)[1:]):
                return
        time.sleep(0.02)
    raise Failed(f"{shlex.join(proc.cmd)}: not listening on [::1]:{port} after {START_S} s: {proc.stderr_tail()}")


def start_relay(build, name, upstream_port):
    """Starts contender `name` in front of E; returns (process, URI to load)."""
    b = os.path.join(build, "bin")
    if name == "anysock bridge":
        p = Proc([os.path.join(b, "anysock"), "bridge", "tcp://[::1]:0", f"tcp://[::1]:{upstream_port}",
                  "--log-level", "warn"])
        return p, p.listening_uri()
    if name == "C relay":
        p = Proc([os.path.join(b, "epoll_relay"), "0", "[::1]", str(upstream_port)])
        return p, p.listening_uri()
    if name == "socat":
        for _attempt in range(3):  # the free port may be taken between the probe and socat's bind
            port = free_port()
            # backlog=4096 as E and the other relays have: with socat's own 5,
            # 100 links connecting at once overflow its accept queue, and a
            # link whose handshake's last ACK was dropped waits for SYN-ACK
            # retransmits (1, 2, 4 ... s): bench gives up on it ("no echo").
            p = Proc(["socat", f"TCP6-LISTEN:{port},bind=[::1],fork,reuseaddr,backlog=4096",
                      f"TCP6:[::1]:{upstream_port}"])
            try:
                wait_listening(p, port)
                return p, f"tcp://[::1]:{port}"
            except Failed:
                p.kill()
        raise Failed("socat would not listen on a free port three times over")
    raise ValueError(name)


def bench(build, uri, args, duration):
    cmd = [os.path.join(build, "bin", "anysock"), "bench", uri, "--json", *args, "-d", str(duration),
           "-w", str(WARMUP_S)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + WARMUP_S + 60)
    except subprocess.TimeoutExpired:
        raise Failed(f"{shlex.join(cmd)}: no result after {duration + WARMUP_S + 60:g} s")
    if out.returncode != 0:  # a mismatch, an error, a link lost or not connected
        raise Failed(f"bench failed ({out.returncode}): {shlex.join(cmd)}: {out.stderr.strip()} {out.stdout.strip()}")
    r = json.loads(out.stdout)
    bad = {k: r[k] for k in ("errors", "mismatches", "connect_failures", "lost") if r.get(k)}
    if bad or r["connected"] != r["connections"]:
        raise Failed(f"bench saw {bad or 'links missing'} through {uri}: {out.stdout.strip()}")
    return r["round_trips_per_s"]


def one_run(build, name, args, duration):
    """E, the relay `name` in front of it (none for direct), the load; both stopped after."""
    procs = []
    try:
        echo = Proc([os.path.join(build, "bin", "anysock"), "serve", "tcp://[::1]:0", "--log-level", "warn"])
        procs.append(echo)
        uri = echo.listening_uri()
        if name != "direct":
            relay, uri = start_relay(build, name, int(uri.rsplit(":", 1)[1]))
            procs.append(relay)
        v = bench(build, uri, args, duration)
        for p in procs:
            if p.p.poll() is not None:
                raise Failed(f"{shlex.join(p.cmd)} exited ({p.p.returncode}) during the run: {p.stderr_tail()}")
        return v
    finally:
        for p in reversed(procs):
            p.kill()


def has_bridge(anysock):
    """Whether this build's anysock has the bridge subcommand (CLI11 lists
    subcommands under 'SUBCOMMANDS:' in --help)."""
    out = subprocess.run([anysock, "--help"], capture_output=True, text=True, timeout=30)
    return re.search(r"^\s+bridge\b", out.stdout, re.M) is not None


def pick(spec):
    """--contenders: comma-separated, each a part of one contender's name."""
    if not spec:
        return list(CONTENDERS)
    chosen = set()
    for tok in (t.strip() for t in spec.split(",")):
        hits = [c for c in CONTENDERS if tok and tok.lower() in c.lower()]
        if len(hits) != 1:
            sys.exit(f"bridge_suite: --contenders '{tok}' names {len(hits)} of {', '.join(CONTENDERS)}")
        chosen.add(hits[0])
    return [c for c in CONTENDERS if c in chosen]


def check_prerequisites(build, names):
    b = os.path.join(build, "bin")
    anysock = os.path.join(b, "anysock")
    build_hint = "build first: cmake --preset release && cmake --build --preset release"
    if not os.access(anysock, os.X_OK):
        sys.exit(f"bridge_suite: {anysock} is missing; {build_hint}")
    if "anysock bridge" in names and not has_bridge(anysock):
        sys.exit(f"bridge_suite: {anysock} has no 'bridge' subcommand (build one that has it, "
                 f"or leave it out explicitly: --contenders direct,socat,relay)")
    if "C relay" in names and not os.access(os.path.join(b, "epoll_relay"), os.X_OK):
        sys.exit(f"bridge_suite: {os.path.join(b, 'epoll_relay')} is missing; {build_hint}")
    if "socat" in names and not shutil.which("socat"):
        sys.exit("bridge_suite: socat is not installed (apt-get install socat), "
                 "or leave it out explicitly: --contenders direct,bridge,relay")


def commit():
    try:
        out = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"], capture_output=True,
                             text=True, timeout=10)
        return out.stdout.strip() or "?"
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def relay_smoke(build):
    """--relay-smoke (a ctest): epoll_relay in front of epoll_echo passes a
    line, 1 MiB sent while it comes back, and the client's EOF through; within
    seconds, no anysock involved."""
    procs = []
    try:
        echo = Proc([os.path.join(build, "bin", "epoll_echo")])
        procs.append(echo)
        eport = int(echo.listening_uri().rsplit(":", 1)[1])
        relay = Proc([os.path.join(build, "bin", "epoll_relay"), "0", "[::1]", str(eport)])
        procs.append(relay)
        rport = int(relay.listening_uri().rsplit(":", 1)[1])
        with socket.create_connection(("::1", rport), timeout=5) as s:
            big = os.urandom(1 << 20)
            for msg in (b"Hello, world\n", big):
                sender = threading.Thread(target=s.sendall, args=(msg,), daemon=True)
                sender.start()
                got = bytearray()
                while len(got) < len(msg):
                    chunk = s.recv(1 << 16)
                    if not chunk:
                        raise Failed(f"the relay closed after {len(got)} of {len(msg)} bytes")
                    got += chunk
                sender.join(5)
                if bytes(got) != msg:
                    raise Failed(f"{len(msg)} bytes sent, other bytes came back")
            s.shutdown(socket.SHUT_WR)  # epoll_echo closes on EOF, so must the relay towards us
            if s.recv(1):
                raise Failed("bytes after the echo")
        print("epoll_relay: relays both ways and passes EOF on")
    except (OSError, Failed) as e:
        sys.exit(f"bridge_suite: epoll_relay smoke: {e}")
    finally:
        for p in reversed(procs):
            p.kill()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build/release")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--duration", type=float, default=3)
    ap.add_argument("--only", help="run only workloads whose name contains this")
    ap.add_argument("--contenders", help=f"comma-separated subset of: {', '.join(CONTENDERS)} "
                                         "(a part of a name will do: bridge,relay); default all")
    ap.add_argument("--relay-smoke", action="store_true", help="only check that epoll_relay relays (a few seconds)")
    a = ap.parse_args()
    if a.relay_smoke:
        return relay_smoke(a.build)

    names = pick(a.contenders)
    check_prerequisites(a.build, names)
    rows = [w for w in ROWS if not a.only or a.only in w[0]]
    if not rows:
        sys.exit(f"bridge_suite: --only '{a.only}' matches none of: {', '.join(w[0] for w in ROWS)}")

    results = {}  # (workload, contender) -> [round trips/s, one a round]
    try:
        for wname, args, _kind in rows:
            for rnd in range(a.rounds):
                for name in round_order(names, rnd):
                    v = one_run(a.build, name, args, a.duration)
                    results.setdefault((wname, name), []).append(v)
                    print(f"  {wname:12} round {rnd + 1}: {name:14} {v:10.0f}", file=sys.stderr, flush=True)
    except Failed as e:
        sys.exit(f"bridge_suite: {e}")

    ratios = [(x, y, t) for x, y, t in RATIOS if x in names and y in names]
    print(f"\nanysock bridge suite, {datetime.date.today()}, {platform.node()}, {os.cpu_count()} cores, "
          f"{platform.release()}, {commit()}; medians of {a.rounds} alternating runs of {a.duration:g} s "
          f"(A B C D, then D C B A), a fresh echo server E for every run; "
          f"ratios: median of the per-round ratios (lowest-highest round)")
    print("round trips/s through the relay to E (higher is better); direct: no relay\n")
    heads = [f"{x.replace('anysock ', '')} / {y}" + (f" (target {t})" if t else "") for x, y, t in ratios]
    print("| workload | " + " | ".join(names + heads) + " |")
    print("|---|" + "---|" * (len(names) + len(heads)))
    for wname, _args, _kind in rows:
        cells = [f"{statistics.median(results[(wname, n)]):.0f}" for n in names]
        cells += [ratio_text(results[(wname, x)], results[(wname, y)]) for x, y, _t in ratios]
        print(f"| {wname} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
