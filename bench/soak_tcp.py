"""The TCP parts of the soak: many clients for long, and faulty clients
mid-load, then SIGTERM mid-echo (bench/soak.py runs them)."""
import os
import random
import socket
import statistics
import struct
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from soak_common import Sampler, Server, bench_seen, clean, finish_bench, settle, start_bench


def anysock(a):
    return os.path.join(a.build, "bin", "anysock")


def address(uri):
    """('::1', port) of tcp://[::1]:PORT."""
    host, port = uri[len("tcp://"):].rsplit(":", 1)
    return host.strip("[]"), int(port)


def load(a, table):
    clients, seconds = (1000, 5) if a.short else (10000, 60)
    part = f"tcp-load {clients:,} x {seconds} s"
    srv = Server(anysock(a), ["serve", "tcp://[::1]:0", "--log-level", "warn"])
    try:
        base_fds, base_rss = at_rest(srv)
        sampler = Sampler(srv)
        started = time.monotonic()
        bench = start_bench(anysock(a), srv.uris[0], ["-c", str(clients), "-s", "64", "-d", str(seconds), "-w", "1",
                                                      "--timeout", "30"])
        r, rc, err = finish_bench(bench, seconds + 180)
        ended = time.monotonic()
        samples = sampler.stop()
        ok = r is not None and rc == 0 and clean(r)[0]
        table.add(part, "every byte echoed and verified", bench_seen(r, rc, err), ok)
        # Steady: the measured run's middle third against its last third (the
        # first second is the warm-up and the connects).
        loaded = [s for s in samples if started + 1 <= s[0] <= ended]
        if len(loaded) >= 6:
            third = len(loaded) // 3
            mid = statistics.median(s[1] for s in loaded[third:2 * third])
            last = statistics.median(s[1] for s in loaded[2 * third:])
            peak_fds = max(s[2] for s in loaded)
            growth = (last - mid) / mid if mid else 0
            table.add(part, "server RSS steady under load (last third vs middle third, at most +10%)",
                      f"{mid / 1024:.1f} -> {last / 1024:.1f} MiB ({100 * growth:+.1f}%), "
                      f"peak {max(s[1] for s in loaded) / 1024:.1f} MiB", growth <= 0.10)
            table.add(part, "every client held a descriptor while loading", f"peak {peak_fds:,} open "
                      f"(at rest {base_fds})", peak_fds >= base_fds + clients)
        else:
            table.add(part, "server RSS sampled under load", f"only {len(loaded)} samples", False)
        fds = settle(srv.fds, base_fds, 20)
        rss = srv.rss_kib()
        table.add(part, "descriptors back to where they started once the clients left",
                  f"{fds} (at start {base_fds}); RSS {base_rss / 1024:.1f} -> {rss / 1024:.1f} MiB", fds == base_fds)
    finally:
        srv.close()


def at_rest(srv):
    """Descriptors and RSS of a server that has echoed once (what it opens
    after its 'listening' line, such as the signal pipe, is open by then)."""
    if not half_close(address(srv.uris[0]), 64, 0):
        raise RuntimeError("the server did not echo 64 bytes")
    time.sleep(0.5)
    return srv.fds(), srv.rss_kib()


def connect(addr):
    s = socket.create_connection(addr, timeout=30)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def reset_mid_write(addr, size, seed):
    """Writes `size` bytes without reading the echo, then resets (SO_LINGER 0)."""
    s = connect(addr)
    s.sendall(random.Random(seed).randbytes(size))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    return True


def half_close(addr, size, seed):
    """Sends `size` bytes, shuts its write side, reads until EOF: True when
    exactly what was sent came back, in order, and then EOF."""
    data = random.Random(seed).randbytes(size)
    s = connect(addr)
    got = bytearray()
    sender = threading.Thread(target=lambda: (s.sendall(data), s.shutdown(socket.SHUT_WR)))
    sender.start()
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += b
    finally:
        sender.join(timeout=60)
        s.close()
    return bytes(got) == data


def never_reading(addr, seconds):
    """A client that writes until the server stops taking bytes and never
    reads: the open socket and how many bytes it got in."""
    s = connect(addr)
    s.setblocking(False)
    sent, chunk, deadline = 0, b"x" * 65536, time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            sent += s.send(chunk)
        except BlockingIOError:
            time.sleep(0.05)
    return s, sent


class Verifier(threading.Thread):
    """Echoes 512-byte messages one at a time and checks each; records
    everything sent and received, so SIGTERM mid-echo can be judged: what
    came back must be exactly a prefix of what was sent, no byte twice."""

    def __init__(self, addr, seed):
        super().__init__(daemon=True)
        self.addr, self.rng = addr, random.Random(seed)
        self.sent, self.got, self.rounds, self.error, self.reset = bytearray(), bytearray(), 0, None, False

    def run(self):
        try:
            s = connect(self.addr)
            while True:
                msg = self.rng.randbytes(512)
                try:
                    s.sendall(msg)
                except OSError:
                    return  # closed by the drain before this message went out
                self.sent += msg
                want = len(self.sent)
                while len(self.got) < want:
                    b = s.recv(65536)
                    if not b:
                        return s.close()
                    self.got += b
                self.rounds += 1
        except ConnectionResetError:
            # The drain closed the link with this client's next message
            # unread in the server's socket: the kernel resets it then.
            self.reset = True
        except OSError as e:
            self.error = e

    def exact(self):
        return self.got == self.sent[:len(self.got)] and len(self.got) >= 512 * self.rounds


def faults(a, table):
    n_reset, n_half, n_deaf = (50, 50, 5) if a.short else (500, 500, 50)
    seconds = 8 if a.short else 30
    part = "tcp-faults"
    srv = Server(anysock(a), ["serve", "tcp://[::1]:0", "--drain-timeout", "5"])
    addr = address(srv.uris[0])
    deaf = []
    try:
        base_fds, base_rss = at_rest(srv)
        bench = start_bench(anysock(a), srv.uris[0], ["-c", "50", "-s", "1024", "-d", str(seconds), "-w", "0",
                                                      "--timeout", "30"])
        with ThreadPoolExecutor(max_workers=16) as pool:
            resets = [pool.submit(reset_mid_write, addr, 256 * 1024, i) for i in range(n_reset)]
            halves = [pool.submit(half_close, addr, random.Random(i).randint(1, 256 * 1024), 10_000 + i)
                      for i in range(n_half)]
            deafs = [pool.submit(never_reading, addr, 2) for _ in range(n_deaf)]
            reset_ok = sum(1 for f in resets if f.result(timeout=120))
            half_ok = sum(1 for f in halves if f.result(timeout=120))
            deaf = [f.result(timeout=120) for f in deafs]
        r, rc, err = finish_bench(bench, seconds + 120)
        table.add(part, "50 clients echo 1 KiB through it all, verified", bench_seen(r, rc, err),
                  r is not None and rc == 0 and clean(r)[0])
        table.add(part, f"{n_reset} clients reset (SO_LINGER 0) after writing 256 KiB unread",
                  f"{reset_ok} reset; server {'alive' if srv.alive() else 'DEAD'}", reset_ok == n_reset and srv.alive())
        table.add(part, f"{n_half} clients half-close after 1 B-256 KiB: all of it back, then EOF",
                  f"{half_ok} of {n_half} exact", half_ok == n_half)
        stuck = sum(sent for _, sent in deaf)
        fds = settle(srv.fds, base_fds + n_deaf, 20)
        rss = srv.rss_kib()
        # Bounded: the echo holds what one read took per link while the
        # peer's window is shut, never what the peer keeps sending.
        bound_kib = base_rss + 1024 * n_deaf + 32 * 1024
        table.add(part, f"{n_deaf} clients that never read: the server stops reading them, memory bounded",
                  f"they got {stuck / 2**20:.1f} MiB in before the server stopped reading; server RSS "
                  f"{base_rss / 1024:.1f} -> {rss / 1024:.1f} MiB (bound {bound_kib / 1024:.0f})", rss <= bound_kib)
        table.add(part, "only the never-reading clients' descriptors still open", f"{fds} (at start {base_fds})",
                  fds == base_fds + n_deaf)

        # SIGTERM while 20 clients echo message after message: they get
        # their last message back whole (or are closed before sending it),
        # then EOF; the never-reading ones are cut at the drain timeout.
        verifiers = [Verifier(addr, 20_000 + i) for i in range(20)]
        for v in verifiers:
            v.start()
        time.sleep(1)
        t0 = time.monotonic()
        code = srv.terminate(20)
        took = time.monotonic() - t0
        for v in verifiers:
            v.join(timeout=30)
        exact = sum(1 for v in verifiers if v.exact() and v.error is None and not v.is_alive())
        rounds = sum(v.rounds for v in verifiers)
        resets = sum(1 for v in verifiers if v.reset)
        errors = [str(v.error) for v in verifiers if v.error]
        table.add(part, "SIGTERM mid-echo: exits 0 within the 5 s drain, cutting the never-reading links",
                  f"exit {code} after {took:.1f} s", code == 0 and took < 15
                  and srv.wait_for(rf"drain time is up: closing {n_deaf} links", 1) is not None)
        table.add(part, "SIGTERM mid-echo: each of 20 clients got back exactly what it sent, nothing twice, "
                  "then EOF (or a reset, when its next message was still unread)",
                  f"{exact} of 20 exact after {rounds:,} round trips; {resets} reset"
                  + (f"; errors: {errors[:3]}" if errors else ""), exact == 20 and rounds > 0)
    finally:
        for s, _ in deaf:
            s.close()
        srv.close()
