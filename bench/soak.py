#!/usr/bin/python3
"""The soak and fault suite: long load with every byte verified, and the
faults a server on a network or a shared bus meets, injected mid-load; one
table of what was checked and what was seen. Exits 1 if any check failed.

  bench/soak.py [--build build/release] [--short] [--only tcp-load,tcp-faults,can-flood,can-faults,rfcomm-faults]

tcp-load      10,000 TCP clients echoing 64 B for 60 s (anysock bench, every
              byte verified); the server's RSS and descriptors sampled:
              steady through the run, back to where they started after it.
tcp-faults    under a verified load of 50 clients: clients that reset
              (SO_LINGER 0) mid-write, that half-close (their whole stream
              must come back, then EOF), that never read (memory must stay
              bounded); then SIGTERM mid-echo: the server drains, exits 0, and
              every client got back exactly what it sent, nothing twice.
can-flood     cangen -g 0 for 10 s against the CAN responder: every request
              answered exactly once, or counted as dropped by the kernel.
can-faults    vcan0 down and up under CAN load, and socketcand clients cut
              mid-message, while a TCP load on the same server is verified.
rfcomm-faults the ACL link dropped (hcitool dc) under RFCOMM load, while a
              TCP load on the same server is verified.

--short (scripts/check, through CTest) runs the same checks smaller: 1,000
clients for 5 s, fewer faulty clients, a 3 s flood. The CAN and RFCOMM
parts need AF_CAN / AF_BLUETOOTH: natively where the host has them (and
root, for vcan and btvirt), else in one boot of the test guest. Loopback
and the guest only; every load and wait is bounded.
"""
import argparse
import datetime
import os
import platform
import sys

import soak_tcp
from kernel_suite import add_only, check_only, run_on_kernel  # bench/kernel_suite.py, beside this script
from soak_common import Table

HOST_PARTS = ("tcp-load", "tcp-faults")
KERNEL_PARTS = ("can-flood", "can-faults", "rfcomm-faults")
PARTS = HOST_PARTS + KERNEL_PARTS


def kernel_families(parts):
    fams = []
    if any(p in parts for p in ("can-flood", "can-faults")):
        fams.append("can")
    if "rfcomm-faults" in parts:
        fams.append("bluetooth")
    return fams


def run_kernel_parts(a, parts):
    """Runs this script with --here where the kernel has the families."""
    # Debian's python3 (python3-can and the rest belong to it).
    python = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable
    me = [python, os.path.abspath(__file__), "--here", "--build", a.build, "--only", ",".join(parts)]
    if a.short:
        me.append("--short")
    return run_on_kernel(me, a.build, kernel_families(parts), 1800, "soak")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build/release")
    ap.add_argument("--short", action="store_true", help="the smaller form scripts/check runs")
    add_only(ap, PARTS)
    ap.add_argument("--here", action="store_true", help="run the kernel parts on this kernel, fixtures already up")
    a = ap.parse_args()
    check_only(ap, a, PARTS)
    a.build = os.path.abspath(a.build)
    exe = os.path.join(a.build, "bin", "anysock")
    if not os.access(exe, os.X_OK):
        sys.exit(f"soak: {exe} is missing; build first: cmake --preset release && cmake --build --preset release")

    table = Table()
    host = [p for p in a.only if p in HOST_PARTS]
    kernel = [p for p in a.only if p in KERNEL_PARTS]
    if a.here or os.environ.get("ANYSOCK_KERNEL_HARNESS"):
        import soak_kernel
        soak_kernel.run(a, kernel, table)
        kernel = []
    if "tcp-load" in host:
        soak_tcp.load(a, table)
    if "tcp-faults" in host:
        soak_tcp.faults(a, table)
    rc_kernel = 0
    if kernel:
        rc_kernel = run_kernel_parts(a, kernel)
        if rc_kernel:
            table.add(", ".join(kernel), "the kernel parts ran", f"exit {rc_kernel} (their table is above)", False)
    if table.rows:
        where = " (qemu TCG guest)" if os.environ.get("ANYSOCK_KERNEL_HARNESS") == "guest" else ""
        print(f"\nanysock soak{' (short)' if a.short else ''}, {datetime.date.today()}, {platform.node()}{where}, "
              f"kernel {platform.release()}, {os.cpu_count()} cores")
        table.print()
    sys.exit(1 if table.failed() or rc_kernel else 0)


if __name__ == "__main__":
    main()
