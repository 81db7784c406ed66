#!/usr/bin/python3
"""The kernel-family benchmarks: anysock's CAN and RFCOMM echo side by side
with what a user would otherwise use, the same load generator (anysock
bench, every reply verified) against each, runs alternating, medians and
ratios in one table.

  bench/kernel_suite.py [--build build/release] [--rounds 15] [--duration 2] [--placement split|free]

CAN (vcan0, 8-byte frames, request 123 -> reply 456), at 1 and 32 requests
in flight: anysock serve (as it comes, and with --busy-poll 500), the
in-kernel gateway (cangw rewriting the ID; it answers inside the sender's
own system call), a minimal blocking C
responder (bench/reference/can_echo.c) and the leanest event-loop C
responder (bench/reference/can_echo_epoll.c: epoll, recvmmsg batches), and
one that sleeps only in io_uring_enter (bench/reference/can_echo_uring.c:
one system call a round trip). Beside it, each responder process's CPU
time per second under load.
RFCOMM (two linked virtual controllers, one link, 4 x 4 KiB in flight):
anysock serve and a minimal blocking C echo (bench/reference/rfcomm_echo.c),
plus BlueZ's rctest one way on the same link.

Where the host has no AF_CAN / AF_BLUETOOTH (or no right to create vcan and
virtual controllers) it runs itself in one boot of the test guest
(tests/kernel/guest/boot.sh), where everything is emulated and several
times slower: compare ratios, not absolute figures. Every run is bounded.
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
import socket
import statistics
import subprocess
import sys
import time

from suite import ratio_text, round_order  # bench/suite.py, beside this script

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CAN_REQ, CAN_REP = "123", "456"
WARMUP_S = 1
CAN_NAMES = ["anysock", "anysock busy-poll", "cangw", "C responder", "C epoll", "C io_uring"]
CAN_WINDOWS = (1, 32)


def fail(msg):
    sys.exit(f"kernel_suite: {msg}")


# --placement split (the default): responder on CPU 1, load generator on
# CPU 0, for every contender alike. Left to the scheduler (--placement free),
# whether the two share a CPU changes a round by up to 2x (a wake-up across
# CPUs or not), which drowns what is measured; but split makes every reply a
# wake-up across CPUs, which under TCG costs a user-space responder more
# than cangw (it answers inside the sender's own system call), so both are
# worth reporting.
PINNED = False
RESPONDER_CPU, GENERATOR_CPU = [], []


def place(placement):
    global PINNED, RESPONDER_CPU, GENERATOR_CPU
    PINNED = placement == "split" and (os.cpu_count() or 1) >= 2 and shutil.which("taskset") is not None
    RESPONDER_CPU = ["taskset", "-c", "1"] if PINNED else []
    GENERATOR_CPU = ["taskset", "-c", "0"] if PINNED else []


class Server:
    """A responder process that prints 'listening ...' when ready."""

    def __init__(self, cmd):
        self.proc = subprocess.Popen(RESPONDER_CPU + cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("listening"):
            self.stop()
            fail(f"{cmd[0]} did not start: {line!r} {self.proc.stderr.read().strip()}")

    def cpu_seconds(self):
        """User and system time the responder has used so far."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        self.proc.kill()
        self.proc.wait(timeout=30)


class Cangw:
    """The in-kernel CAN gateway as the responder: 123 frames come back as 456."""

    def __init__(self, ifc):
        self.ifc = ifc
        rule = ["-s", ifc, "-d", ifc, "-i", "-e", "-f", f"{CAN_REQ}:C00007FF",
                "-m", f"SET:I:{CAN_REP}.0.0000000000000000"]
        self.rule = rule
        # rtnetlink does not load can-gw on demand (-EOPNOTSUPP until it is in).
        subprocess.run(["modprobe", "can-gw"], capture_output=True, timeout=60)
        r = subprocess.run(["cangw", "-A", *rule], capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            fail(f"cangw -A failed: {r.stderr.strip()} (needs root and the can-gw module)")

    def stop(self):
        subprocess.run(["cangw", "-D", *self.rule], capture_output=True, timeout=30)


def bench(build, uri, args, duration):
    cmd = [os.path.join(build, "bin", "anysock"), "bench", uri, "--json", "-d", str(duration), "-w", str(WARMUP_S),
           *args]
    out = subprocess.run(GENERATOR_CPU + cmd, capture_output=True, text=True, timeout=duration + 180)
    if out.returncode != 0:
        fail(f"bench failed ({out.returncode}): {shlex.join(cmd)}: {out.stderr.strip()}")
    r = json.loads(out.stdout)
    bad = {k: r[k] for k in ("errors", "mismatches", "lost", "connect_failures") if r.get(k)}
    if bad:
        fail(f"bench saw {bad} against {uri}: {out.stdout.strip()}")
    return r


def no_acl_links(hcis, tries=60):
    """A new RFCOMM run starts with no ACL link left from the one before."""
    for _ in range(tries):
        if all("ACL" not in subprocess.run(["hcitool", "-i", h, "con"], capture_output=True, text=True,
                                           timeout=30).stdout for h in hcis):
            return
        time.sleep(0.25)


class Lines:
    """Lines from a pipe, each read bounded in time (a silent peer cannot hang us)."""

    def __init__(self, pipe):
        self.fd, self.buf = pipe.fileno(), b""

    def read(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                return None
            chunk = os.read(self.fd, 4096)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode(errors="replace")


def rctest_one_way(hci0, hci1, addr0, channel=27, frames=2000, frame=1000):
    """MB/s rctest's receiver reports for `frames` x `frame` bytes, or None."""
    rx = subprocess.Popen(["rctest", "-r", "-i", hci0, "-P", str(channel), "-b", "100000"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        lines = Lines(rx.stdout)
        while True:
            line = lines.read(60)
            if line is None:
                print("kernel_suite: rctest -r did not start listening", file=sys.stderr)
                return None
            if f"Waiting for connection on channel {channel}" in line:
                break
        try:
            tx = subprocess.run(["rctest", "-s", "-i", hci1, "-P", str(channel), "-b", str(frame), "-N",
                                 str(frames), addr0], capture_output=True, text=True, timeout=300)
        except subprocess.TimeoutExpired:
            print("kernel_suite: rctest -s did not finish in 300 s", file=sys.stderr)
            return None
        if tx.returncode != 0:
            print(f"kernel_suite: rctest -s failed: {tx.stdout.strip()} {tx.stderr.strip()}", file=sys.stderr)
            return None
        got, secs = 0, 0.0
        while got < frames * frame:
            line = lines.read(60)
            if line is None:
                break
            m = re.search(r"\]: (\d+) bytes in ([0-9.]+) sec", line)
            if m:
                got, secs = got + int(m.group(1)), secs + float(m.group(2))
        if got != frames * frame or secs <= 0:
            print(f"kernel_suite: rctest -r saw {got} of {frames * frame} bytes", file=sys.stderr)
            return None
        return got / secs / 1e6
    finally:
        rx.kill()
        rx.wait(timeout=30)


def median_table(title, rows, names, ratios, better="higher is better", cell=None):
    cell = cell or (lambda v: f"{v:.3f}" if v < 100 else f"{v:.0f}")
    print(f"\n{title} ({better})\n")
    heads = ["workload", *names, *(r[0] for r in ratios)]
    print("| " + " | ".join(heads) + " |")
    print("|" + "---|" * len(heads))
    for wname, results in rows:
        med = {s: statistics.median(v) for s, v in results.items()}
        cells = [cell(med[s]) if s in med else "" for s in names]
        rcells = [ratio_text(results[a], results[b]) if a in results and b in results else ""
                  for _label, a, b in ratios]
        print("| " + " | ".join([wname, *cells, *rcells]) + " |")


def run_here(a):
    b = os.path.join(a.build, "bin")
    ifc = os.environ.get("ANYSOCK_CAN_IF0", "vcan0")
    can_rows = []
    can_uri = f"can://{ifc}?rx={CAN_REQ}&tx={CAN_REP}"
    # Run in this order, each ratio's two sides next to each other or one
    # apart: the machine's speed drifts within seconds.
    run_order = ["C epoll", "cangw", "anysock", "C responder", "anysock busy-poll", "C io_uring"]
    starters = {
        "anysock": lambda: Server([os.path.join(b, "anysock"), "serve", can_uri, "--log-level", "warn"]),
        # Spinning 500 us after each reply: longer than the gap to the next
        # request at 1 in flight here, so the thread never sleeps under load.
        "anysock busy-poll": lambda: Server([os.path.join(b, "anysock"), "serve", can_uri, "--log-level", "warn",
                                             "--busy-poll", "500"]),
        "cangw": lambda: Cangw(ifc),
        "C responder": lambda: Server([os.path.join(b, "can_echo"), ifc, CAN_REQ, CAN_REP]),
        "C epoll": lambda: Server([os.path.join(b, "can_echo_epoll"), ifc, CAN_REQ, CAN_REP]),
        "C io_uring": lambda: Server([os.path.join(b, "can_echo_uring"), ifc, CAN_REQ, CAN_REP]),
    }
    cpu_rows = []
    for window in CAN_WINDOWS:
        results, cpu = {}, {}
        for rnd in range(a.rounds):
            for name in round_order(run_order, rnd):
                srv = starters[name]()
                try:
                    used = srv.cpu_seconds() if isinstance(srv, Server) else None
                    r = bench(a.build, can_uri, ["-s", "8", "-p", str(window)], a.duration)
                    # Per second under load (warm-up and measured); cangw's
                    # work is the sender's, inside its system call.
                    if used is not None:
                        loaded = r["seconds"] + WARMUP_S
                        cpu.setdefault(name, []).append(100 * (srv.cpu_seconds() - used) / loaded)
                finally:
                    srv.stop()
                results.setdefault(name, []).append(r["round_trips_per_s"])
                print(f"  CAN {window:2} in flight, round {rnd + 1}: {name:17} {r['round_trips_per_s']:10.0f} /s"
                      f" p50 {r['latency_ns']['p50'] / 1e3:.0f} us"
                      + (f", responder CPU {cpu[name][-1]:.0f}%" if name in cpu else ""),
                      file=sys.stderr, flush=True)
        can_rows.append((f"8 B frames, {window} in flight", results))
        cpu_rows.append((f"8 B frames, {window} in flight", cpu))

    hci0, hci1 = os.environ.get("ANYSOCK_BT_HCI0"), os.environ.get("ANYSOCK_BT_HCI1")
    addr0 = os.environ.get("ANYSOCK_BT_ADDR0")
    bt_rows = []
    if hci0 and hci1 and addr0:
        bt_names = ["anysock", "C echo", "rctest one way"]
        chans = {"anysock": 25, "C echo": 26}
        bt_start = {
            "anysock": lambda: Server([os.path.join(b, "anysock"), "serve", f"rfcomm://{hci0}:25",
                                       "--log-level", "warn"]),
            "C echo": lambda: Server([os.path.join(b, "rfcomm_echo"), addr0, "26"]),
        }
        results = {}
        for rnd in range(a.rounds):
            for name in round_order(("anysock", "C echo"), rnd):
                no_acl_links((hci0, hci1))
                srv = bt_start[name]()
                try:
                    r = bench(a.build, f"rfcomm://{addr0}:{chans[name]}?adapter={hci1}",
                              ["-c", "1", "-s", "4096", "-p", "4", "--timeout", "60"], a.duration)
                finally:
                    srv.stop()
                results.setdefault(name, []).append(r["mb_per_s"])
                print(f"  RFCOMM round {rnd + 1}: {name:8} {r['mb_per_s']:.3f} MB/s each way",
                      file=sys.stderr, flush=True)
            v = None
            for _attempt in range(3):  # a link still tearing down can refuse it: bounded retries
                no_acl_links((hci0, hci1))
                v = rctest_one_way(hci0, hci1, addr0)
                if v is not None:
                    break
            if v is None:
                fail("rctest one way failed three times (above)")
            results.setdefault("rctest one way", []).append(v)
            print(f"  RFCOMM round {rnd + 1}: rctest one way {v:.3f} MB/s", file=sys.stderr, flush=True)
        bt_rows.append(("1 link, 4 x 4 KiB in flight", results))
    else:
        print("kernel_suite: no virtual Bluetooth controllers (ANYSOCK_BT_*): RFCOMM not measured", file=sys.stderr)

    print(f"\nanysock kernel bench suite, {datetime.date.today()}, {platform.node()}, kernel {platform.release()}, "
          f"{os.cpu_count()} cores{' (qemu TCG guest)' if os.environ.get('ANYSOCK_KERNEL_HARNESS') == 'guest' else ''}; "
          f"medians of {a.rounds} alternating runs of {a.duration:g} s (A B C, then C B A; ratios: median of "
          f"per-round ratios, lowest-highest round), "
          f"every reply verified, none lost"
          f"{'; responders on CPU 1, load generator on CPU 0' if PINNED else '; processes placed by the scheduler'}")
    median_table("CAN echo on vcan, round trips/s", can_rows, CAN_NAMES,
                 [("anysock / cangw", "anysock", "cangw"), ("anysock / C", "anysock", "C responder"),
                  ("busy-poll / C", "anysock busy-poll", "C responder"),
                  ("anysock / C epoll", "anysock", "C epoll"), ("C io_uring / C", "C io_uring", "C responder")])
    median_table("CAN responders' CPU use under that load, % of one core", cpu_rows,
                 [n for n in CAN_NAMES if n != "cangw"], [], "lower is better; busy-poll spins by design",
                 lambda v: f"{v:.0f}")
    if bt_rows:
        median_table("RFCOMM echo on the virtual link, MB/s each way (rctest: one way)", bt_rows, bt_names,
                     [("anysock / C echo", "anysock", "C echo"), ("C echo / rctest", "C echo", "rctest one way")])


def host_has(family):
    try:
        if family == "can":
            socket.socket(socket.AF_CAN, socket.SOCK_RAW, socket.CAN_RAW).close()
        else:
            socket.socket(socket.AF_BLUETOOTH, socket.SOCK_STREAM, socket.BTPROTO_RFCOMM).close()
        return True
    except (OSError, AttributeError):
        return False


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build/release")
    # Many short rounds rather than a few long ones: this machine's speed
    # drifts within seconds, and what cancels drift is how often the
    # contenders alternate (7 x 4 s runs put the same ratio at 0.85 and 1.01
    # from run to run; 15 x 2 s is the same time per contender).
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--duration", type=float, default=2)
    ap.add_argument("--placement", choices=("split", "free"), default="split",
                    help="split: responder on CPU 1, generator on CPU 0; free: left to the scheduler")
    ap.add_argument("--here", action="store_true", help="run on this kernel with the fixtures already up")
    a = ap.parse_args()
    a.build = os.path.abspath(a.build)
    place(a.placement)
    for exe in ("anysock", "can_echo", "can_echo_epoll", "can_echo_uring", "rfcomm_echo"):
        if not os.access(os.path.join(a.build, "bin", exe), os.X_OK):
            fail(f"{a.build}/bin/{exe} is missing; build first: cmake --preset release && cmake --build --preset release"
                 + (" (it needs liburing-dev: scripts/install-deps.sh)" if exe == "can_echo_uring" else ""))
    if a.here or os.environ.get("ANYSOCK_KERNEL_HARNESS"):
        return run_here(a)
    me = [sys.executable, os.path.abspath(__file__), "--here", "--build", a.build, "--rounds", str(a.rounds),
          "--duration", str(a.duration), "--placement", a.placement]
    lib = os.path.join(ROOT, "tests", "kernel", "lib")
    if host_has("can") and host_has("bluetooth") and os.geteuid() == 0:
        # Natively: the test harness's fixtures (vcan0/vcan1, btvirt), then back.
        script = (f"source {shlex.quote(lib)}/common.sh; source {shlex.quote(lib)}/fixtures.sh; "
                  f"export FIXTURE_LOG_DIR=$(mktemp -d); trap fixtures_cleanup EXIT; "
                  f"fixtures_setup 'can bluetooth' 0 || exit 1; ANYSOCK_KERNEL_HARNESS=native {shlex.join(me)}")
        sys.exit(subprocess.run(["bash", "-c", script]).returncode)
    print("kernel_suite: this host lacks AF_CAN/AF_BLUETOOTH (or root): running in the test guest", file=sys.stderr)
    boot = os.path.join(ROOT, "tests", "kernel", "guest", "boot.sh")
    # The guest's time limit from the work asked for: per CAN run the bench,
    # its warm-up and ~2 s of process starts; per RFCOMM round two runs and
    # rctest (15 rounds of 2 s took 1,120 s). Twice that, to be safe.
    can_runs = len(CAN_NAMES) * len(CAN_WINDOWS)
    expected = a.rounds * (can_runs * (a.duration + WARMUP_S + 2) + 2 * (a.duration + WARMUP_S + 3) + 10)
    env = dict(os.environ, ANYSOCK_KERNEL_TIMEOUT=str(int(max(1200, 2 * expected + 300))))
    sys.exit(subprocess.run(["bash", boot, "--build", a.build, "--families", "can bluetooth", "--", *me],
                            env=env).returncode)


if __name__ == "__main__":
    main()
