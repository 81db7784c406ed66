#!/usr/bin/python3
"""An L2CAP echo client on Python's own socket.AF_BLUETOOTH, SOCK_SEQPACKET,
BTPROTO_L2CAP (Debian's /usr/bin/python3 has them): connects over BR/EDR,
sends one message of each given size, and checks that each comes back
whole, in one recv, with its own boundary; exits 1 otherwise.

Usage: l2cap_seqpacket_client.py ADDR PSM [--from LOCAL_ADDR] SIZE...
PSM may be hex (0x1001)."""
import argparse
import socket
import sys

p = argparse.ArgumentParser()
p.add_argument("addr")
p.add_argument("psm", type=lambda t: int(t, 0))
p.add_argument("--from", dest="local")
p.add_argument("sizes", type=int, nargs="+")
a = p.parse_args()

s = socket.socket(socket.AF_BLUETOOTH, socket.SOCK_SEQPACKET, socket.BTPROTO_L2CAP)
s.settimeout(60)
if a.local:
    s.bind((a.local, 0))
s.connect((a.addr, a.psm))

with s:
    for i, size in enumerate(a.sizes):
        sent = bytes((i * 31 + k) % 251 for k in range(size))
        s.send(sent)
        got = s.recv(65536)  # one SDU, however large the buffer
        if got != sent:
            print(f"message {i}: sent {size} bytes, got {len(got)} back, "
                  f"{'same' if got == sent[:len(got)] else 'different'} bytes", file=sys.stderr)
            sys.exit(1)
        print(f"Received {len(got)} bytes, boundary kept")
print("all echoed")
