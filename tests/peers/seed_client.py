#!/usr/bin/python3
"""The blog post's IPv6 echo client, fixed so it runs: it resolves the host
with getaddrinfo and tries every address, sends the two seed messages as
UTF-8, and reads until each whole echo is back (one recv() may return less).
Exits 1 if the echo differs. Usage: seed_client.py HOST PORT"""
import socket
import sys

HOST, PORT = sys.argv[1], int(sys.argv[2])
MESSAGES = ["Hello, world", "汉语/漢語 Hànyǔ"]

s = None
for af, socktype, proto, _canonname, sa in socket.getaddrinfo(HOST, PORT, socket.AF_UNSPEC, socket.SOCK_STREAM):
    try:
        s = socket.socket(af, socktype, proto)
    except OSError:
        s = None
        continue
    try:
        s.settimeout(10)
        s.connect(sa)
    except OSError:
        s.close()
        s = None
        continue
    break
if s is None:
    print("could not open socket", file=sys.stderr)
    sys.exit(1)

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
        print("Received", got.decode("utf-8", "replace"))
        if got != sent:
            print(f"echo differs: sent {sent!r}, got {got!r}", file=sys.stderr)
            sys.exit(1)
