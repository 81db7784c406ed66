"""What the soak parts share: the table of checks, a server process whose
log is kept, its RSS and descriptors sampled, and anysock bench runs."""
import json
import os
import re
import subprocess
import tempfile
import threading
import time


class Table:
    """One row per check: the part, what was checked, what was seen, pass."""

    def __init__(self):
        self.rows = []

    def add(self, part, check, seen, ok):
        self.rows.append((part, check, seen, bool(ok)))
        print(f"  {'ok  ' if ok else 'FAIL'} {part}: {check}: {seen}", flush=True)

    def failed(self):
        return any(not ok for *_, ok in self.rows)

    def print(self):
        print("\n| part | check | seen | |\n|---|---|---|---|")
        for part, check, seen, ok in self.rows:
            print(f"| {part} | {check} | {seen} | {'ok' if ok else '**FAIL**'} |")


class Server:
    """`anysock ARGS...` that prints one 'listening URI' line per endpoint;
    its log (stderr) goes to a file, read with log() and wait_for()."""

    def __init__(self, exe, args, endpoints=1, ready_s=60):
        self.log_file = tempfile.NamedTemporaryFile(prefix="soak-", suffix=".log", delete=False)
        self.proc = subprocess.Popen([exe, *args], stdout=subprocess.PIPE, stderr=self.log_file, text=True)
        self.uris = []
        deadline = time.monotonic() + ready_s
        while len(self.uris) < endpoints and time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            if line.startswith("listening "):
                self.uris.append(line.split(" ", 1)[1].strip())
        if len(self.uris) < endpoints:
            self.kill()
            raise RuntimeError(f"anysock {' '.join(args)} did not start: {self.log()[-2000:]}")

    def log(self):
        with open(self.log_file.name, errors="replace") as f:
            return f.read()

    def wait_for(self, pattern, timeout_s):
        """The first match of a regex in the log, waiting up to timeout_s."""
        deadline = time.monotonic() + timeout_s
        while True:
            m = re.search(pattern, self.log())
            if m or time.monotonic() > deadline:
                return m
            time.sleep(0.1)

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def fds(self):
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def alive(self):
        return self.proc.poll() is None

    def terminate(self, timeout_s):
        """SIGTERM; its exit status, or None if it did not exit in time (then killed)."""
        self.proc.terminate()
        try:
            return self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)

    def close(self):
        self.kill()
        os.unlink(self.log_file.name)


class Sampler:
    """The server's RSS (KiB) and open descriptors, every `every_s`, in a thread."""

    def __init__(self, server, every_s=0.5):
        self.server, self.every_s, self.samples = server, every_s, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                self.samples.append((time.monotonic(), self.server.rss_kib(), self.server.fds()))
            except OSError:
                return
            self._stop.wait(self.every_s)

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=10)
        return self.samples


def settle(read, want, timeout_s):
    """Polls read() until it returns want (or timeout_s passes); the last value."""
    deadline = time.monotonic() + timeout_s
    while True:
        v = read()
        if v == want or time.monotonic() > deadline:
            return v
        time.sleep(0.1)


def start_bench(exe, uri, args):
    """anysock bench URI --json ARGS, running; finish_bench() reads its result."""
    return subprocess.Popen([exe, "bench", uri, "--json", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def finish_bench(proc, timeout_s):
    """(result dict or None, exit status, stderr) of a bench started by start_bench."""
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        return None, None, "did not finish in time: " + err.strip()
    try:
        return json.loads(out), proc.returncode, err.strip()
    except json.JSONDecodeError:
        return None, proc.returncode, err.strip()


def clean(r):
    """Whether a bench result saw no error of any kind, and its bad counters."""
    bad = {k: r[k] for k in ("errors", "mismatches", "lost", "connect_failures") if r.get(k)}
    return not bad and r.get("connected") == r.get("connections"), bad


def bench_seen(r, rc, err):
    if r is None:
        return f"bench exit {rc}: {err[-300:]}"
    ok, bad = clean(r)
    return (f"{r['round_trips']:,} round trips on {r['connected']:,} links"
            + (f", {bad}" if bad else ", 0 errors, 0 mismatches"))
