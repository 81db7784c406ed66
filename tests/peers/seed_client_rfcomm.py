#!/usr/bin/python3
"""The blog post's echo client (seed_client.py) ported to Bluetooth RFCOMM
with Python's own socket.AF_BLUETOOTH / BTPROTO_RFCOMM (Debian's
/usr/bin/python3 has them): connects, sends the two seed messages as UTF-8,
reads until each whole echo is back, exits 1 if an echo differs.

Usage: seed_client_rfcomm.py ADDR CHANNEL [--from LOCAL_ADDR]
                             [--stream BYTES --window BYTES]
--from binds the local adapter to connect from. --stream then sends BYTES
of a repeating pattern and verifies the echo, never more than --window
bytes ahead of what came back (an unbounded full-duplex stream can stall
on virtual controllers), and prints the throughput."""
import argparse
import socket
import sys
import time

MESSAGES = ["Hello, world", "汉语/漢語 Hànyǔ"]

p = argparse.ArgumentParser()
p.add_argument("addr")
p.add_argument("channel", type=int)
p.add_argument("--from", dest="local")
p.add_argument("--stream", type=int, default=0)
p.add_argument("--window", type=int, default=16384)
a = p.parse_args()

s = socket.socket(socket.AF_BLUETOOTH, socket.SOCK_STREAM, socket.BTPROTO_RFCOMM)
s.settimeout(60)
if a.local:
    s.bind((a.local, 0))
s.connect((a.addr, a.channel))

with s:
    for text in MESSAGES:
        sent = text.encode("utf-8")
        s.sendall(sent)
        got = b""
        while len(got) < len(sent):
            chunk = s.recv(1024)
            if not chunk:
                break
            got += chunk
        print("Received", got.decode("utf-8", "replace"), flush=True)
        if got != sent:
            print(f"echo differs: sent {sent!r}, got {got!r}", file=sys.stderr)
            sys.exit(1)

    if a.stream:
        pattern = bytes(range(251)) * (a.stream // 251 + 1)  # 251: prime, so shifts show
        data = memoryview(pattern[: a.stream])
        sent = verified = 0
        start = time.monotonic()
        while verified < a.stream:
            # Write only while less than a window is unanswered, then read.
            if sent < a.stream and sent - verified < a.window:
                n = s.send(data[sent : min(a.stream, verified + a.window)])
                sent += n
                continue
            chunk = s.recv(65536)
            if not chunk:
                print(f"peer closed after {verified} of {a.stream} bytes came back", file=sys.stderr)
                sys.exit(1)
            if chunk != data[verified : verified + len(chunk)]:
                print(f"stream echo differs within bytes {verified}..{verified + len(chunk)}", file=sys.stderr)
                sys.exit(1)
            verified += len(chunk)
        took = time.monotonic() - start
        print(f"streamed {a.stream} bytes in {took:.2f} s: {a.stream / took / 1e3:.1f} kB/s each way", flush=True)
