"""The kernel parts of the soak (bench/soak.py runs them where AF_CAN and
AF_BLUETOOTH exist, with the test harness's vcan0 and virtual
controllers): a cangen flood against the CAN responder, vcan0 down and up
and socketcand clients cut mid-message under load, and an RFCOMM ACL link
dropped under load, each beside a verified TCP load on the same server."""
import collections
import os
import re
import socket
import struct
import subprocess
import tempfile
import time

from kernel_suite import no_acl_links
from soak_common import Server, bench_seen, clean, finish_bench, start_bench

REQ, REP = "123", "456"


def anysock(a):
    return os.path.join(a.build, "bin", "anysock")


def sh(*cmd, timeout=60):
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout)


def stat(ifc, name):
    with open(f"/sys/class/net/{ifc}/statistics/{name}") as f:
        return int(f.read())


def backlog_drops():
    """Frames the kernel dropped from its per-CPU input backlog (netif_rx,
    through which vcan loops every frame back to its readers): the second
    column of /proc/net/softnet_stat, summed over CPUs."""
    with open("/proc/net/softnet_stat") as f:
        return sum(int(line.split()[1], 16) for line in f if line.strip())


def wait_quiet(ifc, quiet_s=1.0, timeout_s=60):
    """Waits until nothing is sent on ifc for quiet_s (the responder has
    answered everything it will)."""
    deadline, last, since = time.monotonic() + timeout_s, -1, time.monotonic()
    while time.monotonic() < deadline:
        now = stat(ifc, "tx_packets")
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return
        time.sleep(0.1)


def candump(ifc, ids, path):
    """candump of the given IDs into a file, its receive buffer large and
    its own drops reported (-d): what the bus carried, to count by payload."""
    flt = ",".join(f"{i}:7FF" for i in ids)
    out = open(path, "w")
    p = subprocess.Popen(["candump", "-L", "-d", "-r", str(256 << 20), f"{ifc},{flt}"], stdout=out,
                         stderr=subprocess.STDOUT)
    time.sleep(1)  # no ready signal: give it time to bind
    return p, out


def stop_candump(p, out, path, timeout_s=120):
    """Stops candump once it has written out what it had queued (its file
    stops growing), and counts its frames by ID and payload."""
    out.flush()
    deadline, last, since = time.monotonic() + timeout_s, -1, time.monotonic()
    while time.monotonic() < deadline:
        size = os.path.getsize(path)
        if size != last:
            last, since = size, time.monotonic()
        elif time.monotonic() - since >= 1.5:
            break
        time.sleep(0.2)
    p.send_signal(2)
    try:
        p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    out.close()
    frames, drops = collections.defaultdict(collections.Counter), 0
    with open(path) as f:
        for line in f:
            m = re.match(r"\(\S+\) \S+ ([0-9A-F]+)#([0-9A-F]*)", line)
            if m:
                frames[m.group(1)][m.group(2)] += 1
            elif line.startswith("DROPCOUNT"):
                drops = int(re.search(r"total drops (\d+)", line).group(1))
    return frames, drops


def can_flood(a, table):
    ifc = os.environ.get("ANYSOCK_CAN_IF0", "vcan0")
    seconds = 3 if a.short else 10
    part = f"can-flood {seconds} s"
    tmp = tempfile.mkdtemp(prefix="soak-can-")
    srv = Server(anysock(a), ["serve", f"can://{ifc}?rx={REQ}&tx={REP}"])
    dump, dump_out = candump(ifc, (REQ, REP), os.path.join(tmp, "dump.log"))
    try:
        tx0, txd0, bl0 = stat(ifc, "tx_packets"), stat(ifc, "tx_dropped"), backlog_drops()
        gen = sh("timeout", "-s", "INT", str(seconds), "cangen", ifc, "-g", "0", "-I", REQ, "-L", "8", "-D", "i",
                 timeout=seconds + 60)
        wait_quiet(ifc)
        code = srv.terminate(30)
        sent, qdisc, backlog = stat(ifc, "tx_packets") - tx0, stat(ifc, "tx_dropped") - txd0, backlog_drops() - bl0
        frames, dump_drops = stop_candump(dump, dump_out, os.path.join(tmp, "dump.log"))
        log = srv.log()
        m = re.search(r"link from can bus \S+ [^\n]*?after (\d+) messages", log)
        answered = int(m.group(1)) if m else None
        m = re.search(r"(\d+) frames dropped by the kernel in all", log)
        sock_drops = int(m.group(1)) if m else 0
        table.add(part, "the responder drains on SIGTERM and exits 0 after the flood",
                  f"exit {code}; cangen exit {gen.returncode} {gen.stderr.strip()[:100]}",
                  code == 0 and answered is not None)
        if answered is None:
            table.add(part, "the responder's count of answers", f"not in its log: {log[-500:]}", False)
            return
        requests = sent - answered  # vcan0's tx_packets counts cangen's frames and the replies
        table.add(part, "every request answered, or dropped by the kernel at the responder's socket buffer "
                  "(SO_RXQ_OVFL, in its log) or the input backlog (softnet_stat)",
                  f"{requests:,} requests at {requests / seconds:,.0f}/s: {answered:,} answered, {sock_drops:,} "
                  f"dropped at the socket buffer, {backlog:,} at the backlog, {qdisc} at the qdisc",
                  requests == answered + sock_drops or (backlog and answered + sock_drops <= requests
                                                        <= answered + sock_drops + backlog))
        req, rep = frames.get(REQ, collections.Counter()), frames.get(REP, collections.Counter())
        # cangen -D i numbers its payloads, so each request is unique and
        # may have one answer; where candump saw every frame, each answer
        # must also have its request.
        unique = all(n == 1 for n in req.values())
        if dump_drops == 0:
            twice = sum(max(0, n - req.get(d, 0)) for d, n in rep.items())
        else:
            twice = sum(n - 1 for n in rep.values() if n > 1) if unique else None
        table.add(part, "no request answered twice (candump, by payload; every answer has its request where "
                  "candump missed no frame)",
                  f"candump saw {sum(req.values()):,} requests ({'all' if unique else 'NOT all'} unique), "
                  f"{sum(rep.values()):,} answers, dropped {dump_drops:,} itself; {twice} answers beyond their "
                  "requests", twice == 0 and (dump_drops or (sum(req.values()) == requests
                                                             and sum(rep.values()) == answered)))
    finally:
        if dump.poll() is None:
            dump.kill()
        srv.close()


def tcp_load(a, srv, seconds):
    return start_bench(anysock(a), next(u for u in srv.uris if u.startswith("tcp://")),
                       ["-c", "20", "-s", "256", "-d", str(seconds), "-w", "0", "--timeout", "30"])


def check_tcp(table, part, bench, seconds):
    r, rc, err = finish_bench(bench, seconds + 120)
    table.add(part, "20 TCP clients on the same server, verified through it", bench_seen(r, rc, err),
              r is not None and rc == 0 and clean(r)[0])


def check_again(a, table, part, uri, what):
    r, rc, err = finish_bench(start_bench(anysock(a), uri, ["-s", "8", "-p", "4", "-d", "2", "-w", "0",
                                                            "--timeout", "30"]), 180)
    table.add(part, what, bench_seen(r, rc, err), r is not None and rc == 0 and clean(r)[0])


def vcan_down_up(a, table):
    ifc = os.environ.get("ANYSOCK_CAN_IF0", "vcan0")
    part, seconds = "can-faults", 6 if a.short else 20
    can_uri = f"can://{ifc}?rx={REQ}&tx={REP}"
    srv = Server(anysock(a), ["serve", can_uri, "tcp://[::1]:0"], endpoints=2)
    try:
        tcp = tcp_load(a, srv, seconds)
        can = start_bench(anysock(a), can_uri, ["-s", "8", "-p", "8", "-d", str(seconds), "-w", "0",
                                                "--timeout", "5"])
        time.sleep(seconds / 3)
        down = sh("ip", "link", "set", ifc, "down")
        time.sleep(1)
        up = sh("ip", "link", "set", ifc, "up")
        r, rc, err = finish_bench(can, seconds + 120)
        check_tcp(table, part, tcp, seconds)
        table.add(part, f"`ip link set {ifc} down`, 1 s, `up` under CAN load (8 in flight)",
                  f"ip exit {down.returncode}/{up.returncode}; the CAN load saw: " + bench_seen(r, rc, err),
                  down.returncode == 0 and up.returncode == 0)
        check_again(a, table, part, can_uri, "the responder answers every request again after it")
        went = srv.wait_for(r"[^\n]*the interface went down", 5)
        back = srv.wait_for(r"[^\n]*the interface is up again", 5)
        table.add(part, "the server logs the interface going and coming back, and keeps running",
                  f"down: {went.group(0)[24:] if went else 'not logged'}; up: {back.group(0)[24:] if back else 'not logged'}"
                  + ("" if went and back else "; its log: " + " | ".join(l for l in srv.log().splitlines()
                                                                        if "can" in l)[-600:]),
                  went and back and srv.alive())
    finally:
        srv.close()


def socketcand_cut(a, table):
    """Clients cut mid-message (a reset after half a `< send`), under a verified
    socketcand load: the complete messages reach the bus once, the cut ones
    never, the others are served throughout."""
    ifc = os.environ.get("ANYSOCK_CAN_IF0", "vcan0")
    part, seconds, cuts = "can-faults", 6 if a.short else 20, 20 if a.short else 200
    tmp = tempfile.mkdtemp(prefix="soak-socketcand-")
    responder = Server(anysock(a), ["serve", f"can://{ifc}?rx={REQ}&tx={REP}", "--log-level", "warn"])
    sc = Server(anysock(a), ["socketcand", ifc, "--listen", "127.0.0.1:0"])
    dump, dump_out = candump(ifc, ("321",), os.path.join(tmp, "dump.log"))
    try:
        port = int(sc.uris[0].rsplit(":", 1)[1])
        load = start_bench(anysock(a), f"socketcand://127.0.0.1:{port}/{ifc}?rx={REQ}&tx={REP}",
                           ["-c", "4", "-s", "8", "-p", "4", "-d", str(seconds), "-w", "0", "--timeout", "30"])
        cut_ok = 0
        for i in range(cuts):
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            try:
                expect = [b"< hi >", b"< ok >", b"< ok >"]
                got = b""
                for send in (None, f"< open {ifc} >".encode(), b"< rawmode >"):
                    if send:
                        s.sendall(send)
                    while expect[0] not in got:
                        b = s.recv(4096)
                        if not b:
                            raise ConnectionError(f"closed after {got!r}")
                        got += b
                    got = got.split(expect.pop(0), 1)[1]
                s.sendall(f"< send 321 2 {i // 256:02X} {i % 256:02X} >< send 321 2 FF".encode())
                time.sleep(0.02)  # the whole one reaches the server before the reset
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                cut_ok += 1
            finally:
                s.close()
        r, rc, err = finish_bench(load, seconds + 120)
        table.add(part, "4 socketcand clients (our client, 16 in flight) served throughout, verified",
                  bench_seen(r, rc, err), r is not None and rc == 0 and clean(r)[0])
        time.sleep(1)
        frames, drops = stop_candump(dump, dump_out, os.path.join(tmp, "dump.log"))
        got = frames.get("321", collections.Counter())
        whole = sum(n for d, n in got.items() if not d.startswith("FF"))
        once = all(got.get(f"{i // 256:02X}{i % 256:02X}", 0) == 1 for i in range(cuts))
        cut = sum(n for d, n in got.items() if d.startswith("FF"))
        table.add(part, f"{cuts} socketcand clients reset halfway through a `< send >`: the whole message "
                  "before it on the bus once, the cut one never",
                  f"{cut_ok} cut; on the bus: {whole} whole, {cut} cut (candump dropped {drops}); server "
                  f"{'alive' if sc.alive() else 'DEAD'}", cut_ok == cuts and once and whole == cuts and cut == 0
                  and sc.alive())
    finally:
        if dump.poll() is None:
            dump.kill()
        sc.close()
        responder.close()


def rfcomm_acl_drop(a, table):
    hci0, hci1 = os.environ.get("ANYSOCK_BT_HCI0"), os.environ.get("ANYSOCK_BT_HCI1")
    addr0, addr1 = os.environ.get("ANYSOCK_BT_ADDR0"), os.environ.get("ANYSOCK_BT_ADDR1")
    part, seconds = "rfcomm-faults", 10 if a.short else 30
    if not (hci0 and hci1 and addr0 and addr1):
        table.add(part, "two virtual controllers (ANYSOCK_BT_*)", "not set up", False)
        return
    srv = Server(anysock(a), ["serve", f"rfcomm://{hci0}:20", "tcp://[::1]:0"], endpoints=2)
    uri = f"rfcomm://{addr0}:20?adapter={hci1}"
    try:
        no_acl_links((hci0, hci1))
        tcp = tcp_load(a, srv, seconds)
        bt = start_bench(anysock(a), uri, ["-c", "1", "-s", "1024", "-p", "4", "-d", str(seconds), "-w", "0",
                                           "--timeout", "20"])
        time.sleep(seconds / 2)
        dc = sh("hcitool", "-i", hci0, "dc", addr1)
        r, rc, err = finish_bench(bt, seconds + 120)
        check_tcp(table, part, tcp, seconds)
        table.add(part, "`hcitool dc` drops the ACL link under an RFCOMM client echoing 4 x 1 KiB",
                  f"hcitool exit {dc.returncode}; the RFCOMM load saw: " + bench_seen(r, rc, err),
                  dc.returncode == 0)
        ended = srv.wait_for(rf"link from {addr1}\S* (reset by peer|ended|closed)", 60)
        table.add(part, "the server sees the links end and keeps running",
                  ended.group(0) if ended else "not logged: " + srv.log()[-300:], ended and srv.alive())
        no_acl_links((hci0, hci1))
        sh("btmgmt", "--index", hci0[3:], "unpair", addr1)
        sh("btmgmt", "--index", hci1[3:], "unpair", addr0)
        no_acl_links((hci0, hci1))
        check_again(a, table, part, uri, "a new RFCOMM client is echoed, verified")
    finally:
        srv.close()


def run(a, parts, table):
    if "can-flood" in parts:
        can_flood(a, table)
    if "can-faults" in parts:
        vcan_down_up(a, table)
        socketcand_cut(a, table)
    if "rfcomm-faults" in parts:
        rfcomm_acl_drop(a, table)
