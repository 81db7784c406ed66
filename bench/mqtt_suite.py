#!/usr/bin/python3
"""CAN buses through an MQTT broker (a mosquitto this suite starts on
127.0.0.1, a free port): anysock bridge against the python-can + paho-mqtt
bridge a user would write (bench/reference/mqtt_bridge.py), in alternating
rounds.

  bench/mqtt_suite.py [--build build/release] [--rounds 5] [--frames 10000] [--only one-way,round-trip]

one-way     cangen -g 0 floods vcan0 -> bridge -> broker -> a subscriber,
            counted: frames/s delivered, frames lost; then cangen paced
            (-g 1 -c 8): the rate offered and what was lost; and the
            broker's own dropped counter ($SYS/broker/publish/messages/dropped).
            Beside them mosquitto_pub -l (C, no CAN) publishing as many
            8-byte lines through the same broker to the same subscriber: the
            broker's ceiling on this machine. The subscriber is a few lines
            of raw MQTT reading in bulk (mosquitto_sub takes one packet per
            loop turn and, emulated, counts a few hundred a second).
round-trip  anysock bench on vcan0 -> bridge -> broker -> bridge -> anysock
            serve on vcan1 and back: round trips/s at 1 and 32 in flight,
            every reply verified.

Needs AF_CAN: natively where the host has it (and root, for vcan), else in
one boot of the test guest.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from kernel_suite import Server, add_only, check_only, median_table, run_on_kernel  # beside this script
from suite import round_order

HERE = os.path.dirname(os.path.abspath(__file__))
PARTS = ("one-way", "round-trip")
NAMES = ["anysock bridge", "python-can + paho"]
CEILING = "mosquitto_pub -l (C, no CAN)"
PACE = ["-g", "1", "-c", "8"]  # 8 frames a millisecond as asked; the guest's timers make it less
WINDOWS = (1, 32)
PYTHON = "/usr/bin/python3"  # Debian's: python3-can and paho belong to it


def fail(msg):
    print(f"mqtt_suite: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


class Broker:
    """mosquitto with its own config in a temp folder, on a free loopback port."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="anysock-bench-mosquitto-")
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        conf = os.path.join(self.dir, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\nsys_interval 1\n"
                    "log_dest stderr\nlog_type error\n")
        self.proc = subprocess.Popen(["mosquitto", "-c", conf], stderr=subprocess.PIPE, text=True)
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        fail(f"mosquitto did not listen on 127.0.0.1:{self.port}")

    def dropped(self):
        """The broker's count of messages it dropped (a $SYS topic, published every second)."""
        out = subprocess.run(["mosquitto_sub", "-p", str(self.port), "-t", "$SYS/broker/publish/messages/dropped",
                              "-C", "1", "-W", "10"], capture_output=True, text=True, timeout=30).stdout.strip()
        return int(out) if out.isdigit() else -1

    def stop(self):
        self.proc.kill()
        self.proc.wait(timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)


def bridge(name, build, ifc, broker, node):
    """One contender bridging `ifc` to the broker's bench/bus topic as `node`."""
    if name == "anysock bridge":
        return Server([os.path.join(build, "bin", "anysock"), "bridge", f"can://{ifc}",
                       f"mqtt://127.0.0.1:{broker.port}/bench/bus?node={node}", "--log-level", "warn"])
    return Server([PYTHON, os.path.join(HERE, "reference", "mqtt_bridge.py"), ifc, "127.0.0.1", str(broker.port),
                   "bench/bus", node])


class Counter:
    """A minimal MQTT 3.1.1 subscriber counting PUBLISH packets as they come,
    read 64 KiB at a time: mosquitto_sub takes one packet per loop turn and
    under emulation counts a few hundred a second, far fewer than the broker
    delivers."""

    def __init__(self, broker, node):
        topic = f"bench/bus/f/{node}".encode()
        self.sock = socket.create_connection(("127.0.0.1", broker.port), timeout=30)
        client_id = b"anysock-bench-counter"
        connect = b"\x00\x04MQTT\x04\x02\x00\x3c" + len(client_id).to_bytes(2, "big") + client_id
        subscribe = b"\x00\x01" + len(topic).to_bytes(2, "big") + topic + b"\x00"
        self.sock.sendall(bytes([0x10, len(connect)]) + connect + bytes([0x82, len(subscribe)]) + subscribe)
        self.times, self.buf, self.stop_reading = [], b"", False
        self.suback = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        if not self.suback.wait(30):
            fail("the counting subscriber got no SUBACK")

    def _read(self):
        self.sock.settimeout(0.2)
        while not self.stop_reading:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not data:
                return
            now = time.time()
            self.buf += data
            while True:  # whole packets: type byte, remaining length (varint), body
                if len(self.buf) < 2:
                    break
                length, mult, i = 0, 1, 1
                while i < len(self.buf) and self.buf[i] & 0x80:
                    length += (self.buf[i] & 0x7F) * mult
                    mult *= 128
                    i += 1
                if i >= len(self.buf):
                    break
                length += self.buf[i] * mult
                end = i + 1 + length
                if len(self.buf) < end:
                    break
                kind = self.buf[0] >> 4
                if kind == 3:
                    self.times.append(now)
                elif kind == 9:
                    self.suback.set()
                self.buf = self.buf[end:]

    def count(self):
        return len(self.times)

    def settle(self, quiet_s=2.0, bound_s=180):
        """Waits until nothing more arrived for quiet_s; the arrival times."""
        end = time.monotonic() + bound_s
        last, since = -1, time.monotonic()
        while time.monotonic() < end:
            n = len(self.times)
            if n != last:
                last, since = n, time.monotonic()
            elif time.monotonic() - since >= quiet_s:
                break
            time.sleep(0.1)
        self.stop_reading = True
        self.reader.join(timeout=5)
        self.sock.close()
        return list(self.times)


def wait_crossing(ifc, counter):
    for _ in range(120):
        subprocess.run(["cansend", ifc, "7FF#FEEDC0DE"], check=True, timeout=30)
        time.sleep(0.25)
        if counter.count():
            return True
    return False


def one_way_run(name, a, ifc, pace):
    broker = Broker()
    try:
        via = bridge(name, a.build, ifc, broker, "src") if name != CEILING else None
        try:
            counter = Counter(broker, "src")
            if via and not wait_crossing(ifc, counter):
                fail(f"no frame crossed {name} to the broker: {via.log()}")
            time.sleep(0.5)
            probes = counter.count()
            if via:
                t0 = time.monotonic()
                subprocess.run(["cangen", ifc, "-n", str(a.frames), *pace, "-I", "123", "-L", "8", "-D", "i"],
                               check=True, timeout=600)
                offered = a.frames / (time.monotonic() - t0)
            else:
                offered = 0
                lines = "".join(f"{i:08X}\n" for i in range(a.frames))
                subprocess.run(["mosquitto_pub", "-p", str(broker.port), "-t", "bench/bus/f/src", "-l"], input=lines,
                               text=True, check=True, timeout=600)
            times = counter.settle()[probes:]
            got = len(times)
            rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else 0
            dropped = broker.dropped()
        finally:
            if via:
                via.stop()
    finally:
        broker.stop()
    return {"delivered_per_s": rate, "lost": a.frames - got, "broker_dropped": dropped, "offered_per_s": offered}


def round_trip_run(name, a, ifc0, ifc1, window):
    broker = Broker()
    responder = Server([os.path.join(a.build, "bin", "anysock"), "serve", f"can://{ifc1}?rx=123&tx=456",
                        "--log-level", "warn"])
    try:
        near, far = bridge(name, a.build, ifc0, broker, "near"), bridge(name, a.build, ifc1, broker, "far")
        try:
            cmd = [os.path.join(a.build, "bin", "anysock"), "bench", f"can://{ifc0}?rx=123&tx=456", "--json", "-d",
                   str(a.duration), "-w", "1", "-s", "8", "-p", str(window), "--timeout", "10"]
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=a.duration + 120)
            if out.returncode != 0:
                fail(f"bench through {name} failed: {out.stderr.strip()} | near: {near.log()} | far: {far.log()}")
            r = json.loads(out.stdout)
            bad = {k: r[k] for k in ("errors", "mismatches", "lost") if r.get(k)}
            if bad:
                fail(f"bench through {name} saw {bad}")
            return r["round_trips_per_s"]
        finally:
            near.stop()
            far.stop()
    finally:
        responder.stop()
        broker.stop()


def run_here(a):
    ifc0 = os.environ.get("ANYSOCK_CAN_IF0", "vcan0")
    ifc1 = os.environ.get("ANYSOCK_CAN_FD_IF", "vcan1")
    flood, rt = {}, {w: {} for w in WINDOWS}
    extra = {n: {"lost": [], "paced_lost": [], "offered": [], "broker_dropped": []} for n in [*NAMES, CEILING]}
    for rnd in range(a.rounds):
        if "one-way" in a.only:
            for name in round_order([*NAMES, CEILING], rnd):
                r = one_way_run(name, a, ifc0, ["-g", "0"])
                flood.setdefault(name, []).append(r["delivered_per_s"])
                e = extra[name]
                e["lost"].append(r["lost"])
                e["broker_dropped"].append(r["broker_dropped"])
                line = f"flood {r['delivered_per_s']:.0f}/s delivered, lost {r['lost']}"
                if name != CEILING:
                    p = one_way_run(name, a, ifc0, PACE)
                    e["paced_lost"].append(p["lost"])
                    e["offered"].append(p["offered_per_s"])
                    e["broker_dropped"].append(p["broker_dropped"])
                    line += f"; paced: offered {p['offered_per_s']:.0f}/s, lost {p['lost']}"
                print(f"  round {rnd + 1} {name:28} {line}; broker dropped {max(e['broker_dropped'][-2:])}",
                      file=sys.stderr, flush=True)
        if "round-trip" in a.only:
            for name in round_order(NAMES, rnd):
                for w in WINDOWS:
                    v = round_trip_run(name, a, ifc0, ifc1, w)
                    rt[w].setdefault(name, []).append(v)
                    print(f"  round {rnd + 1} {name:28} round trips, {w} in flight: {v:.0f}/s", file=sys.stderr,
                          flush=True)
    where = " (qemu TCG guest)" if os.environ.get("ANYSOCK_KERNEL_HARNESS") == "guest" else ""
    print(f"\nanysock MQTT bench suite, {datetime.date.today()}, {platform.node()}{where}, kernel "
          f"{platform.release()}, {os.cpu_count()} cores; medians of {a.rounds} alternating rounds, mosquitto "
          f"{mosquitto_version()} on loopback, QoS 0, {a.frames} frames a run")
    ratio = [("anysock / python", "anysock bridge", "python-can + paho")]
    if flood:
        median_table(f"One way, {a.frames} frames: cangen -g 0 -> bridge -> broker -> subscriber, frames/s "
                     "delivered", [("8 B frames, QoS 0", flood)], [*NAMES, CEILING],
                     [*ratio, ("anysock / ceiling", "anysock bridge", CEILING)])
        print(f"\n| contender | flood: frames lost (median, max) | paced (cangen {' '.join(PACE)}): offered /s, "
              "frames lost (max) | broker dropped (max) |")
        print("|---|---|---|---|")
        for n in [*NAMES, CEILING]:
            e = extra[n]
            pace = f"{statistics.median(e['offered']):.0f}, {max(e['paced_lost'])}" if e["offered"] else "-"
            print(f"| {n} | {statistics.median(e['lost']):.0f}, {max(e['lost'])} | {pace} | "
                  f"{max(e['broker_dropped'])} |")
    if "round-trip" in a.only:
        median_table("Round trips vcan0 -> bridge -> broker -> bridge -> responder on vcan1 and back, /s",
                     [(f"8 B frames, {w} in flight", rt[w]) for w in WINDOWS], NAMES, ratio)


def mosquitto_version():
    out = subprocess.run(["mosquitto", "-h"], capture_output=True, text=True).stdout.splitlines()
    return out[0].split()[2] if out and len(out[0].split()) > 2 else "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build/release")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--frames", type=int, default=10000)
    ap.add_argument("--duration", type=float, default=3, help="seconds per round-trip run")
    add_only(ap, PARTS)
    ap.add_argument("--here", action="store_true", help="run on this kernel with the fixtures already up")
    a = ap.parse_args()
    check_only(ap, a, PARTS)
    a.build = os.path.abspath(a.build)
    if not os.access(os.path.join(a.build, "bin", "anysock"), os.X_OK):
        fail(f"{a.build}/bin/anysock is missing; build first: cmake --preset release && cmake --build --preset release")
    for tool in ("mosquitto", "mosquitto_sub", "cangen"):
        if not shutil.which(tool):
            fail(f"{tool} is missing: scripts/install-deps.sh installs it")
    if a.here or os.environ.get("ANYSOCK_KERNEL_HARNESS"):
        return run_here(a)
    me = [PYTHON, os.path.abspath(__file__), "--here", "--build", a.build, "--rounds", str(a.rounds), "--frames",
          str(a.frames), "--duration", str(a.duration), "--only", ",".join(a.only)]
    per_round = ("one-way" in a.only) * 5 * 90 + ("round-trip" in a.only) * len(NAMES) * len(WINDOWS) * (a.duration + 10)
    sys.exit(run_on_kernel(me, a.build, ["can"], int(max(1200, 2 * a.rounds * per_round + 300)), "mqtt_suite"))


if __name__ == "__main__":
    main()
