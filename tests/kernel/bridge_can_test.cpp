// `anysock bridge A B` over SocketCAN on a real kernel: raw CAN between two
// buses (every frame once, in order, never back onto its own bus), rx=
// filters and tx=+OFF ID mapping, two bridges pointing at each other's
// buses, TCP <-> ISO-TP with our own echo as the far end, and a TCP reader
// that never reads behind a busy ISO-TP bus. The witnesses and the traffic
// are can-utils (candump, cangen, cansend, isotpsend) and Python sockets.
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "bridge_support.hpp"
#include "kernel_env.hpp"

using namespace std::chrono_literals;
using namespace anysock::test;

namespace {

constexpr const char* system_python = "/usr/bin/python3";

class BridgeCan : public can_buses_test {};

std::string probe(const std::string& id) { return id + "#" + probe_data; }

std::vector<frame> since(const bus_dump& d, std::size_t from) {
  std::vector<frame> out;
  for (std::size_t i = from; i < d.frames.size(); ++i)
    if (!d.frames[i].is_probe()) out.push_back(d.frames[i]);
  return out;
}

std::string hex_id(unsigned long v) {
  char b[16];
  std::snprintf(b, sizeof b, "%03lX", v);
  return b;
}

// Both buses' witnesses up before the bridge; then the bridge passes frames
// both ways (a probe crossed each way); then 500 classic frames each way
// (11-bit one way, 29-bit the other), each arriving once, in order, with
// its ID and data, and none coming back onto the bus it came from.
TEST_F(BridgeCan, RawFramesCrossOnceInOrderBothWaysAndNeverComeBack) {
  auto d0 = bus_dump::start(can0);
  auto d1 = bus_dump::start(canfd);
  auto br = bridge_process::start({"can://" + can0, "can://" + canfd});
  ASSERT_TRUE(br.started);
  // A bus A is read at once; until B is open its frames are dropped (and
  // counted): start once the bridge says both are there.
  ASSERT_TRUE(br.wait_for("bridging ", 60s)) << br.joined();
  EXPECT_EQ(br.bound, std::vector<std::string>{"can://" + can0});
  ASSERT_TRUE(wait_crossing(can0, probe("7F0"), d1, "7F0"));
  ASSERT_TRUE(wait_crossing(canfd, probe("7F1"), d0, "7F1"));

  constexpr std::size_t n = 500;
  ASSERT_TRUE(run_pumping({"cangen", can0, "-n", std::to_string(n), "-g", "1", "-I", "123", "-L", "8", "-D", "i"},
                          {&d0, &d1}));
  EXPECT_TRUE(d1.read_until([&](auto&) { return d1.count(with_id("123")) >= n; }, 120s))
      << d1.count(with_id("123")) << " of " << n << " frames crossed to " << canfd;
  ASSERT_TRUE(run_pumping(
      {"cangen", canfd, "-n", std::to_string(n), "-g", "1", "-e", "-I", "18DAF110", "-L", "8", "-D", "i"},
      {&d0, &d1}));
  EXPECT_TRUE(d0.read_until([&](auto&) { return d0.count(with_id("18DAF110")) >= n; }, 120s))
      << d0.count(with_id("18DAF110")) << " of " << n << " frames crossed to " << can0;
  // A remote request crosses too, as a remote request.
  ASSERT_EQ(run({"cansend", can0, "456#R"}, 30s).exit_code, 0);
  EXPECT_TRUE(d1.read_until([&](auto&) { return d1.count(with_id("456")) >= 1; }, 60s));
  std::this_thread::sleep_for(1s);  // a frame taken back would be on the bus by now
  d0.stop();
  d1.stop();
  EXPECT_EQ(texts(d1.matching(with_id("456"))), std::vector<std::string>{"456#R"});
  EXPECT_EQ(d0.count(with_id("456")), 1u);

  auto sent0 = d0.matching(with_id("123")), crossed1 = d1.matching(with_id("123"));
  EXPECT_EQ(sent0.size(), n) << "cangen's frames on " << can0 << ", and none came back";
  EXPECT_EQ(texts(crossed1), texts(sent0)) << "every frame once, in order, same ID and data";
  auto sent1 = d1.matching(with_id("18DAF110")), crossed0 = d0.matching(with_id("18DAF110"));
  EXPECT_EQ(sent1.size(), n) << "cangen's frames on " << canfd << ", and none came back";
  EXPECT_EQ(texts(crossed0), texts(sent1)) << "every frame once, in order, same ID and data";
  for (const auto& f : crossed1) EXPECT_EQ(f.fd_flags, -1) << "a classic frame stays classic: " << f.text;
  auto other = [](const frame& f) { return f.id != "123" && f.id != "18DAF110" && f.id != "456"; };
  EXPECT_EQ(d0.count(other), 0u) << d0.listing();
  EXPECT_EQ(d1.count(other), 0u) << d1.listing();

  auto r = br.stop();
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(drops_reported(r.out), 0) << "the bus link's end, with its counts and no drops: " << r.out;
  auto ends = bridge_ends(r.out);
  ASSERT_EQ(ends.size(), 1u) << r.out;
  auto [to_b, back] = crossed_in(ends[0]);
  EXPECT_GE(to_b, static_cast<long>(n)) << ends[0];  // and the probes that crossed
  EXPECT_GE(back, static_cast<long>(n)) << ends[0];
}

// CAN FD between two FD buses: length, BRS and the FD-ness kept, in order.
TEST_F(BridgeCan, FdFramesKeepLengthAndFlags) {
  private_vcan other("anysockbf1", 72);
  ASSERT_TRUE(other.up);
  auto d1 = bus_dump::start(canfd);
  auto d2 = bus_dump::start(other.name);
  // fd=1: the sockets take FD frames too (without it only classic ones).
  auto br = bridge_process::start({"can://" + canfd + "?fd=1", "can://" + other.name + "?fd=1"});
  ASSERT_TRUE(br.started);
  ASSERT_TRUE(br.wait_for("bridging ", 60s)) << br.joined();
  ASSERT_TRUE(wait_crossing(canfd, probe("7F0"), d2, "7F0"));
  constexpr std::size_t n = 200;
  // -L i: every FD length from 1 to 64 in turn; -b: bit rate switch.
  ASSERT_TRUE(run_pumping({"cangen", canfd, "-n", std::to_string(n), "-g", "1", "-f", "-b", "-I", "321", "-L", "i",
                           "-D", "i"},
                          {&d1, &d2}));
  ASSERT_EQ(run({"cansend", other.name, "322##0" + std::string(128, 'A')}, 30s).exit_code, 0);  // 64 bytes, no BRS
  ASSERT_EQ(run({"cansend", other.name, "323#0102"}, 30s).exit_code, 0);                        // classic
  EXPECT_TRUE(d2.read_until([&](auto&) { return d2.count(with_id("321")) >= n; }, 120s));
  EXPECT_TRUE(d1.read_until([&](auto&) { return d1.count(with_id("323")) >= 1; }, 60s));
  std::this_thread::sleep_for(1s);
  d1.stop();
  d2.stop();
  auto sent = d1.matching(with_id("321"));
  ASSERT_EQ(sent.size(), n) << d1.listing();
  EXPECT_EQ(texts(d2.matching(with_id("321"))), texts(sent));
  std::size_t lengths = 0;
  for (const auto& f : sent) {
    // candump shows the flags nibble: BRS is 1 (kernels since 6.x also set
    // CANFD_FDF, 4, on every FD frame).
    EXPECT_TRUE(f.fd_flags >= 0 && (f.fd_flags & 1)) << "FD with BRS: " << f.text;
    lengths = std::max(lengths, f.data.size() / 2);
  }
  EXPECT_EQ(lengths, 64u) << "cangen -L i reached 64-byte frames";
  // The other way: a 64-byte FD frame without BRS and a classic frame, as
  // they were.
  auto fd_back = d1.matching(with_id("322"));
  ASSERT_EQ(fd_back.size(), 1u) << d1.listing();
  EXPECT_EQ(texts(fd_back), texts(d2.matching(with_id("322"))));
  EXPECT_TRUE(fd_back[0].fd_flags >= 0 && !(fd_back[0].fd_flags & 1)) << fd_back[0].text;
  EXPECT_EQ(fd_back[0].data, std::string(128, 'A'));
  EXPECT_EQ(texts(d1.matching(with_id("323"))), std::vector<std::string>{"323#0102"});
  EXPECT_EQ(d1.count([](const frame& f) { return f.id != "321" && f.id != "322" && f.id != "323"; }), 0u)
      << d1.listing();
  auto r = br.stop();
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(drops_reported(r.out), 0) << r.out;
}

// rx= on A: only IDs 100-1FF are taken from can0, and tx=+1 on B maps them
// onto canfd as ID+1, data kept, in order; everything from canfd crosses
// back unchanged, and the bridge takes none of its own frames back (those
// from canfd land on can0 inside A's filter).
TEST_F(BridgeCan, RxFilterPicksTxOffsetMapsAndTheOtherWayPassesAll) {
  auto d0 = bus_dump::start(can0);
  auto d1 = bus_dump::start(canfd);
  auto br = bridge_process::start({"can://" + can0 + "?rx=100:700", "can://" + canfd + "?tx=+1"});
  ASSERT_TRUE(br.started);
  ASSERT_TRUE(br.wait_for("bridging ", 60s)) << br.joined();
  ASSERT_TRUE(wait_crossing(can0, probe("1F5"), d1, "1F6"));
  ASSERT_TRUE(wait_crossing(canfd, probe("7F1"), d0, "7F1"));
  const std::size_t start0 = d0.frames.size(), start1 = d1.frames.size();

  // IDs 000, 001, ... 1EF: 240 of them in 100-1FF.
  ASSERT_TRUE(run_pumping({"cangen", can0, "-n", "496", "-g", "1", "-I", "i", "-L", "8", "-D", "i"}, {&d0, &d1}));
  std::vector<std::string> expected;
  for (const auto& f : since(d0, start0)) {
    auto id = f.id_value();
    if (id >= 0x100 && id <= 0x1FF) expected.push_back(hex_id(id + 1) + "#" + f.data);
  }
  EXPECT_EQ(since(d0, start0).size(), 496u) << "cangen's frames on " << can0;
  EXPECT_GE(expected.size(), 200u) << "cangen -I i must reach past 1FF";
  EXPECT_TRUE(d1.read_until([&](auto&) { return since(d1, start1).size() >= expected.size(); }, 120s));
  std::this_thread::sleep_for(1s);
  d0.drain();
  d1.drain();
  EXPECT_EQ(texts(since(d1, start1)), expected) << "only 100-1FF, as ID+1, in order";

  const std::size_t mid0 = d0.frames.size(), mid1 = d1.frames.size();
  ASSERT_TRUE(run_pumping({"cangen", canfd, "-n", "300", "-g", "1", "-I", "i", "-L", "8", "-D", "i"}, {&d0, &d1}));
  auto back = since(d1, mid1);
  EXPECT_EQ(back.size(), 300u) << "cangen's frames on " << canfd << ", and nothing else";
  EXPECT_TRUE(d0.read_until([&](auto&) { return since(d0, mid0).size() >= back.size(); }, 120s));
  std::this_thread::sleep_for(1s);
  d0.stop();
  d1.stop();
  EXPECT_EQ(texts(since(d0, mid0)), texts(back)) << "all of them, IDs unchanged, in order";
  EXPECT_EQ(texts(since(d1, mid1)), texts(back)) << "none of them taken back from " << can0 << " and mapped again";
  auto r = br.stop();
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(drops_reported(r.out), 0) << r.out;
}

// Two bridges between the same two buses, each taking from a bus what the
// other puts there only where that goes nowhere further:
//   P: can0 (rx 100-1FF)  <->  canfd (rx 200-2FF, sent onto canfd as ID+200)
//   Q: canfd (rx 300-3FF) <->  can0 (rx 400-4FF, sent onto can0 as ID+100)
// So 160 on can0 becomes 360 on canfd (P), which Q takes and puts on can0
// as 460: two crossings, and there it stops (P takes 1xx only, and Q not
// its own 460). Every other ID crosses once or not at all. Each frame is
// counted where it lands: nothing more, so nothing storms.
TEST_F(BridgeCan, TwoBridgesOnEachOthersBusesCrossAsFilteredAndNeverLoop) {
  auto d0 = bus_dump::start(can0);
  auto d1 = bus_dump::start(canfd);
  auto p = bridge_process::start({"can://" + can0 + "?rx=100:700", "can://" + canfd + "?rx=200:700&tx=+200"});
  auto q = bridge_process::start({"can://" + canfd + "?rx=300:700", "can://" + can0 + "?rx=400:700&tx=+100"});
  ASSERT_TRUE(p.started && q.started);
  ASSERT_TRUE(p.wait_for("bridging ", 60s)) << p.joined();
  ASSERT_TRUE(q.wait_for("bridging ", 60s)) << q.joined();
  ASSERT_TRUE(wait_crossing(can0, probe("1F0"), d1, "3F0"));  // P
  ASSERT_TRUE(wait_crossing(canfd, probe("3F1"), d0, "4F1"));  // Q
  ASSERT_TRUE(wait_crossing(canfd, probe("2F2"), d0, "2F2"));  // P back
  ASSERT_TRUE(wait_crossing(can0, probe("4F3"), d1, "4F3"));   // Q back

  constexpr int n = 50;
  struct gen {
    std::string ifc, id;
  };
  const std::vector<gen> gens{{can0, "160"}, {canfd, "270"}, {canfd, "370"}, {can0, "480"}, {can0, "580"},
                              {canfd, "581"}};
  for (const auto& g : gens)
    ASSERT_TRUE(run_pumping({"cangen", g.ifc, "-n", std::to_string(n), "-g", "1", "-I", g.id, "-L", "8", "-D", "i"},
                            {&d0, &d1}));
  // Where each ID lands, and how many times.
  const std::map<std::string, int> on0{{"160", n}, {"460", n}, {"270", n}, {"470", n}, {"480", n}, {"580", n}};
  const std::map<std::string, int> on1{{"360", n}, {"270", n}, {"370", n}, {"480", n}, {"581", n}};
  auto total = [](const std::map<std::string, int>& m) {
    std::size_t t = 0;
    for (auto& [id, c] : m) t += static_cast<std::size_t>(c);
    return t;
  };
  auto all = [](const frame&) { return true; };
  EXPECT_TRUE(d0.read_until([&](auto&) { return d0.count(all) >= total(on0); }, 120s));
  EXPECT_TRUE(d1.read_until([&](auto&) { return d1.count(all) >= total(on1); }, 120s));
  std::this_thread::sleep_for(2s);  // a loop would have filled the buses by now
  d0.stop();
  d1.stop();
  for (const auto& [dump, want] : {std::pair{&d0, &on0}, std::pair{&d1, &on1}}) {
    std::map<std::string, int> got;
    for (const auto& f : dump->matching(all)) ++got[f.id];
    EXPECT_EQ(got, *want) << "frames by ID on " << dump->ifc << ":\n" << dump->listing();
  }
  // The data of each crossing is the original's, in order.
  EXPECT_EQ(texts(d0.matching(with_id("460"))).size(), static_cast<std::size_t>(n));
  auto orig = d0.matching(with_id("160")), twice = d0.matching(with_id("460"));
  for (std::size_t i = 0; i < std::min(orig.size(), twice.size()); ++i) EXPECT_EQ(orig[i].data, twice[i].data) << i;
  auto rp = p.stop(), rq = q.stop();
  EXPECT_EQ(rp.exit_code, 0) << rp.out;
  EXPECT_EQ(rq.exit_code, 0) << rq.out;
  EXPECT_EQ(drops_reported(rp.out), 0) << rp.out;
  EXPECT_EQ(drops_reported(rq.out), 0) << rq.out;
}

// TCP <-> ISO-TP, with `anysock serve` as the echo on the bus: a Python TCP
// client's 1000 bytes come back exactly, and so do `anysock send`'s.
TEST_F(BridgeCan, TcpToIsotpWithOurEchoOnTheBus) {
  auto far = serve_process::start({"isotp://" + can0 + "?rx=7E0&tx=7E8"});
  ASSERT_EQ(far.bound.size(), 1u);
  auto br = bridge_process::start({"tcp://[::1]:0", "isotp://" + can0 + "?rx=7E8&tx=7E0"});
  ASSERT_TRUE(br.started);
  const std::string port = std::to_string(br.port());
  const std::string client = R"(
import socket, sys
n = int(sys.argv[2])
data = bytes((i * 7 + 3) & 0xFF for i in range(n))
s = socket.create_connection(("::1", int(sys.argv[1])), timeout=120)
s.sendall(data)
got = b""
while len(got) < n:
    chunk = s.recv(65536)
    if not chunk:
        break
    got += chunk
s.close()
print(len(got), got == data)
)";
  // The ISO-TP pair is one endpoint every link would share: the bridge
  // takes one link at a time, so each client waits for the last one's end.
  auto ended = [&](std::size_t k) {
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (bridge_ends(br.joined()).size() < k && std::chrono::steady_clock::now() < deadline)
      br.wait_for("\n", 200ms);  // reads what comes, matches nothing
    return bridge_ends(br.joined()).size() >= k;
  };
  auto py = run({system_python, "-c", client, port, "1000"}, 300s);
  EXPECT_EQ(py.exit_code, 0) << py.err;
  EXPECT_EQ(py.out, "1000 True\n") << py.err;
  ASSERT_TRUE(ended(1)) << br.joined();

  auto seed = run_anysock({"send", "tcp://[::1]:" + port, "--timeout", "60"}, 180s);
  EXPECT_EQ(seed.exit_code, 0) << seed.err;
  EXPECT_EQ(seed.out, "Hello, world\n汉语/漢語 Hànyǔ\n");
  ASSERT_TRUE(ended(2)) << br.joined();
  auto big = run_anysock({"send", "tcp://[::1]:" + port, std::string(4000, 'x'), "-q", "--timeout", "60"}, 180s);
  EXPECT_EQ(big.exit_code, 0) << big.err;

  auto r = br.stop();
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(bridge_ends(r.out).size(), 3u) << "one line for each of the three links that ended: " << r.out;
  EXPECT_EQ(drops_reported(r.out), 0) << r.out;
  auto f = far.stop();
  EXPECT_EQ(f.exit_code, 0) << f.err;
}

// A TCP stream knows no message boundaries, an ISO-TP PDU is at most 4095
// bytes: 10000 bytes written at once must still cross (in pieces) and all
// come back in order.
TEST_F(BridgeCan, TcpWriteLongerThanAnIsotpPduCrossesInPieces) {
  auto far = serve_process::start({"isotp://" + can0 + "?rx=7E0&tx=7E8"});
  auto br = bridge_process::start({"tcp://[::1]:0", "isotp://" + can0 + "?rx=7E8&tx=7E0"});
  ASSERT_TRUE(br.started);
  std::string msg;
  for (int i = 0; i < 10000; ++i) msg += static_cast<char>('a' + i % 26);
  auto r = run_anysock({"send", "tcp://[::1]:" + std::to_string(br.port()), msg, "-q", "--timeout", "60"}, 180s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto b = br.stop();
  EXPECT_EQ(b.exit_code, 0) << b.out;
  EXPECT_EQ(drops_reported(b.out), 0) << b.out;
}

// A TCP client that connects and never reads, behind a bus that keeps
// sending: the bridge holds a bounded queue and drops the rest (the
// client's socket and the kernel's buffers fill first: several MB, as the
// bridge's send buffer grows), its memory stays bounded, it keeps running,
// and on SIGTERM it reports the drops and exits 0. On the FD bus, so a
// 4095-byte message is 66 frames rather than 586 (the emulated guest
// sends a frame every ~2 ms otherwise).
TEST_F(BridgeCan, SlowTcpReaderBehindBusyIsotpBusDropsWithBoundedMemory) {
  const std::string bus = "isotp://" + canfd + "?rx=7E8&tx=7E0&fd=1";
  auto br = bridge_process::start({"--queue", "16", "--drain-timeout", "2", "tcp://[::1]:0", bus});
  ASSERT_TRUE(br.started);
  // Connects with a small receive buffer and never reads.
  const std::string lazy = R"(
import socket, sys, time
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("::1", int(sys.argv[1])))
print("connected", flush=True)
time.sleep(600)
)";
  auto client = child::spawn({system_python, "-c", lazy, std::to_string(br.port())});
  ASSERT_EQ(client.read_line(120s).value_or("<nothing>"), "connected") << client.wait(5s).err;
  // The bridge's ISO-TP socket is open once a multi-frame message gets its
  // flow control: isotpsend -b waits for the transfer's end and fails
  // without it.
  bool open = false;
  for (int i = 0; i < 60 && !open; ++i) {
    open = run({"isotpsend", "-s", "7E8", "-d", "7E0", "-L", "72:64:0", "-D", "100", "-b", canfd}, 60s).exit_code ==
           0;
    if (!open) std::this_thread::sleep_for(500ms);
  }
  ASSERT_TRUE(open) << "the bridge's ISO-TP socket never answered a first frame: " << br.joined();
  // Growth, not the total, is what the bridge buffers: a sanitizer build
  // starts at several times the RSS of a release build.
  const long rss_before = br.proc.rss_kib();

  // Bounded flood from one Python ISO-TP socket (FD frames, no gap between
  // them): 4095-byte messages, each sent once the last is through, at most
  // `count` or for `seconds`; it is stopped `after_drops` messages after
  // the bridge first said it dropped (so it drops for a while). The
  // bridge's RSS is sampled meanwhile.
  constexpr int count = 4000, seconds = 120, after_drops = 300;
  const std::string flood_py = R"(
import socket, struct, sys, time
s = socket.socket(socket.AF_CAN, socket.SOCK_DGRAM, socket.CAN_ISOTP)
SOL_CAN_ISOTP, CAN_ISOTP_OPTS, CAN_ISOTP_LL_OPTS = 106, 1, 5
# flags, frame_txtime (CAN_ISOTP_FRAME_TXTIME_ZERO), ext/pad bytes
s.setsockopt(SOL_CAN_ISOTP, CAN_ISOTP_OPTS, struct.pack("=IIBBBB", 0, 0xFFFFFFFF, 0, 0, 0, 0))
s.setsockopt(SOL_CAN_ISOTP, CAN_ISOTP_LL_OPTS, struct.pack("=BBB", 72, 64, 0))
s.bind((sys.argv[1], 0x7E0, 0x7E8))  # flow control comes on 7E0, messages go on 7E8
data = (bytes(range(256)) * 16)[:4095]
end = time.monotonic() + int(sys.argv[3])
i = 0
while i < int(sys.argv[2]) and time.monotonic() < end:
    s.send(data)
    i += 1
    if i % 50 == 0:
        print("at", i, flush=True)
print("sent", i, flush=True)
)";
  auto flood = child::spawn({system_python, "-c", flood_py, canfd, std::to_string(count), std::to_string(seconds)});
  long peak = 0;
  int at = 0, first_drop_at = -1;
  std::string last;
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    auto line = flood.read_line(250ms);
    peak = std::max(peak, br.proc.rss_kib());
    br.drain();
    if (first_drop_at < 0 && !lines_with(br.joined(), "its queue is full").empty()) first_drop_at = at;
    if (line) {
      last = *line;
      if (line->rfind("at ", 0) != 0) break;  // sent N
      at = std::stoi(line->substr(3));
      if (first_drop_at >= 0 && at >= first_drop_at + after_drops) {
        flood.signal(SIGTERM);
        last = "stopped at " + std::to_string(at);
        break;
      }
    } else if (!running(flood.pid())) {
      break;
    }
    if (std::chrono::steady_clock::now() - start > std::chrono::seconds(seconds + 60)) break;
  }
  auto fr = flood.wait(30s);
  peak = std::max(peak, br.proc.rss_kib());
  const auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("flood: %s (first drop said by message %d) of 4095 bytes in %.1f s; bridge RSS %ld KiB, peak %ld KiB\n",
              last.c_str(), first_drop_at, took, rss_before, peak);
  EXPECT_TRUE(last.rfind("sent ", 0) == 0 || last.rfind("stopped ", 0) == 0) << last << fr.out << fr.err;
  EXPECT_GE(first_drop_at, 0) << "the bridge never said it dropped: " << br.joined();
  EXPECT_GT(rss_before, 0) << "no RSS read from /proc";
  EXPECT_LT(peak - rss_before, 16 * 1024) << "KiB: the bridge must not buffer what the client does not read";
  EXPECT_TRUE(running(br.proc.pid())) << "the bridge must keep running: " << br.joined();

  auto r = br.stop(120s);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_GT(drops_reported(r.out), 0) << "the link's end reports what it dropped: " << r.out;
  EXPECT_FALSE(lines_with(r.out, "its queue is full").empty()) << "the drops are said while they happen: " << r.out;
  EXPECT_LE(static_cast<double>(lines_with(r.out, "its queue is full").size()), took + 2)
      << "drops are said at most once a second: " << r.out;
  client.signal(SIGTERM);
  client.wait(10s);
}

// What cannot be bridged, or is not a URI, is refused at start: exit 2, one
// line.
TEST_F(BridgeCan, UnbridgeablePairsAndBadUrisAreOneLineExitTwo) {
  const std::vector<std::vector<std::string>> cases{
      {"bridge", "can://" + can0, "tcp://[::1]:1"},
      {"bridge", "tcp://[::1]:0", "can://" + can0},
      {"bridge", "can://" + can0},
      {"bridge", "can://" + can0, "nosuch://x"},
      {"bridge", "can://anysocknone", "can://" + canfd},
      {"bridge", "can://" + can0 + "?rx=zz", "can://" + canfd},
  };
  for (const auto& c : cases) {
    auto r = run_anysock(c, 60s);
    EXPECT_EQ(r.exit_code, 2) << c[1] << " " << (c.size() > 2 ? c[2] : "") << ": " << r.err;
    EXPECT_EQ(line_count(r.err), 1u) << r.err;
    EXPECT_EQ(r.err.rfind("anysock: ", 0), 0u) << r.err;
  }
}

}  // namespace
