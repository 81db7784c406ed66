// `anysock socketcand BUS` on a real kernel, one client's visit: BCM and
// control modes, with a plain Python socket speaking the protocol as the
// client (Kayak and socketcandcl speak these modes; neither is packaged in
// Debian) and can-utils on the bus; and python-can coming and going. Cyclic
// sends, filters and subscriptions are the kernel's CAN_BCM; what the tests
// check is what reaches the bus and the client, never how fast.
#include <dirent.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "bridge_support.hpp"
#include "kernel_env.hpp"
#include "socketcand_support.hpp"

using namespace std::chrono_literals;
using namespace anysock::test;

namespace {

// Open descriptors of a process.
std::size_t open_fds(pid_t pid) {
  std::size_t n = 0;
  if (DIR* d = opendir(("/proc/" + std::to_string(pid) + "/fd").c_str())) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') ++n;
    closedir(d);
  }
  return n;
}

class SocketcandSession : public can_buses_test {};

// `add` sends at once and then cyclically, `update` changes the content,
// `delete` stops it; an `add` with no interval sends once; bad jobs are
// told why and put nothing on the bus.
TEST_F(SocketcandSession, BcmCyclicSendsUpdateAndDelete) {
  auto dump = bus_dump::start(can0);
  auto srv = socketcand_process::start({can0, "--listen", "127.0.0.1:0"});
  ASSERT_NE(srv.port, 0);
  const std::string py = socketcand_py_client + R"(
c.send("add 0 100000 123 2 11 22")
print("barrier:", c.barrier(), flush=True)
time.sleep(2)
c.send("update 123 2 33 44")
print("barrier:", c.barrier(), flush=True)
time.sleep(2)
c.send("delete 123")
print("barrier:", c.barrier(), flush=True)
c.send("add 0 0 125 1 AA")
print("once:", c.barrier(), flush=True)
print("delete again:", c.ask("delete 123"), flush=True)
print("update none:", c.ask("update 126 1 00"), flush=True)
print("too fast:", c.ask("add 0 10 124 0"), flush=True)
print("bad:", c.ask("add 0 100000 124 2 11"), flush=True)
time.sleep(0.5)
cansend(bus, "7FE#00")   # after this the bus must carry no 123 any more
time.sleep(2)
print("done", flush=True)
)";
  auto r = run({system_python, "-c", py, std::to_string(srv.port), can0}, 180s);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << srv.joined();
  EXPECT_TRUE(has_line(r.out, "hi: hi")) << r.out;
  EXPECT_TRUE(has_line(r.out, "open: ok")) << r.out;
  EXPECT_TRUE(has_line(r.out, "barrier: []")) << r.out;  // no reply to a job that was set up
  EXPECT_TRUE(has_line(r.out, "once: []")) << r.out;
  EXPECT_TRUE(has_line(r.out, "delete again: error delete 123: there is no cyclic send of 123")) << r.out;
  EXPECT_TRUE(has_line(r.out, "update none: error update 126: there is no cyclic send of 126; add one first"))
      << r.out;
  EXPECT_NE(r.out.find("too fast: error add 124: an interval of 10 us is below this server's least, 1000 us"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("add: DLC 2 but 1 data byte"), std::string::npos) << r.out;

  ASSERT_TRUE(dump.read_until([](const std::vector<frame>& fs) {
    return std::any_of(fs.begin(), fs.end(), [](const frame& f) { return f.id == "7FE"; });
  }, 60s)) << dump.listing();
  dump.read_until([](const std::vector<frame>&) { return false; }, 2s);
  const auto seen = dump.matching([](const frame& f) { return f.id == "123" || f.id == "7FE"; });
  std::size_t first = 0, second = 0;
  bool after_marker = false, back_to_first = false;
  for (const auto& f : seen) {
    if (f.id == "7FE") {
      after_marker = true;
      continue;
    }
    EXPECT_FALSE(after_marker) << "a cyclic frame after delete: " << dump.listing(200);
    if (f.data == "1122") {
      ++first;
      back_to_first = second > 0;
    } else {
      EXPECT_EQ(f.data, "3344") << dump.listing(200);
      ++second;
    }
  }
  EXPECT_GE(first, 3u) << dump.listing(200);   // at once, then every 100 ms for 2 s
  EXPECT_GE(second, 3u) << dump.listing(200);
  EXPECT_FALSE(back_to_first) << dump.listing(200);
  EXPECT_EQ(dump.count([](const frame& f) { return f.id == "125"; }), 1u) << dump.listing(200);
  EXPECT_EQ(dump.count([](const frame& f) { return f.id == "124"; }), 0u) << dump.listing(200);
  auto end = srv.stop();
  EXPECT_EQ(end.exit_code, 0) << end.out;
  dump.stop();
}

// `subscribe` delivers every frame of its ID, `filter` only those whose
// masked content changed, `unsubscribe` ends either; leaving BCM mode ends
// them all (their socket closes), as upstream's do.
TEST_F(SocketcandSession, BcmSubscribeFilterAndModeSwitches) {
  auto srv = socketcand_process::start({can0, "--listen", "127.0.0.1:0"});
  ASSERT_NE(srv.port, 0);
  const std::string py = socketcand_py_client + R"(
def frames(quiet=3.0):
    got = []
    while True:
        m = c.message(quiet)
        if m is None:
            return got
        got.append(re.sub(r' \d+\.\d{6}(?= |$)', ' T', m))
c.send("subscribe 0 0 123")
c.send("filter 0 0 321 1 FF")
c.send("subscribe 0 0 12345678")
print("barrier:", c.barrier(), flush=True)
for f in ["123#AA", "456#BB", "321#01", "321#01", "321#02", "123#", "12345678#0102", "123#CC"]:
    cansend(bus, f)
for f in frames():
    print("bcm:", f, flush=True)
c.send("unsubscribe 123")
print("barrier:", c.barrier(), flush=True)
print("unsubscribe none:", c.ask("unsubscribe 777"), flush=True)
print("raw cmd in bcm:", c.ask("statistics 100"), flush=True)
cansend(bus, "123#DD")
cansend(bus, "321#03")
for f in frames():
    print("after unsubscribe:", f, flush=True)
print("rawmode:", c.ask("rawmode"), flush=True)
cansend(bus, "456#EE")
for f in frames():
    print("raw:", f, flush=True)
print("bcmmode:", c.ask("bcmmode"), flush=True)
cansend(bus, "321#04")
print("barrier:", c.barrier(), flush=True)
for f in frames(2.0):
    print("after switch:", f, flush=True)
print("done", flush=True)
)";
  auto r = run({system_python, "-c", py, std::to_string(srv.port), can0}, 180s);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << srv.joined();
  std::vector<std::string> bcm, after_unsubscribe, raw, after_switch;
  for (const auto& l : lines_of(r.out)) {
    if (l.rfind("bcm: ", 0) == 0) bcm.push_back(l.substr(5));
    if (l.rfind("after unsubscribe: ", 0) == 0) after_unsubscribe.push_back(l.substr(19));
    if (l.rfind("raw: ", 0) == 0) raw.push_back(l.substr(5));
    if (l.rfind("after switch: ", 0) == 0) after_switch.push_back(l.substr(14));
  }
  EXPECT_EQ(bcm, (std::vector<std::string>{"frame 123 T AA", "frame 321 T 01", "frame 321 T 02", "frame 123 T",
                                           "frame 12345678 T 01 02", "frame 123 T CC"}))
      << r.out;
  EXPECT_TRUE(has_line(r.out, "unsubscribe none: error unsubscribe 777: there is no filter or subscription for 777"))
      << r.out;
  EXPECT_TRUE(has_line(r.out, "raw cmd in bcm: error statistics needs control mode: switch with controlmode first"))
      << r.out;
  EXPECT_EQ(after_unsubscribe, (std::vector<std::string>{"frame 321 T 03"})) << r.out;
  EXPECT_TRUE(has_line(r.out, "rawmode: ok")) << r.out;
  EXPECT_EQ(raw, (std::vector<std::string>{"frame 456 T EE"})) << r.out;
  EXPECT_TRUE(has_line(r.out, "bcmmode: ok")) << r.out;
  EXPECT_TRUE(after_switch.empty()) << r.out;
  auto end = srv.stop();
  EXPECT_EQ(end.exit_code, 0) << end.out;
}

// `< statistics MS >` in control mode: the interface's counters every MS
// ms, moving with the bus's traffic, and ours (drops) as a fifth field.
TEST_F(SocketcandSession, ControlModeStatistics) {
  auto srv = socketcand_process::start({can0, "--listen", "127.0.0.1:0"});
  ASSERT_NE(srv.port, 0);
  const std::string py = socketcand_py_client + R"(
print("controlmode:", c.ask("controlmode"), flush=True)
print("too often:", c.ask("statistics 5"), flush=True)
c.send("statistics 200")
def stat():
    m = c.message()
    assert m and m.startswith("stat "), m
    return [int(x) for x in m.split()[1:]]
a = stat()
print("fields:", len(a), flush=True)
for i in range(5):
    cansend(bus, "1%02X#0102030405060708" % i)
time.sleep(0.5)
b = stat()
while b[3] - a[3] < 5:  # a stat may have been on its way while cansend ran
    b = stat()
print("tx packets grew:", b[3] - a[3] >= 5, "tx bytes grew:", b[2] - a[2] >= 40, "drops:", b[4], flush=True)
c.send("statistics 0")
print("barrier:", c.barrier(), flush=True)
print("after off:", c.message(2.0), flush=True)
print("send in control:", c.ask("send 123 0"), flush=True)
print("done", flush=True)
)";
  auto r = run({system_python, "-c", py, std::to_string(srv.port), can0}, 180s);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << srv.joined();
  EXPECT_TRUE(has_line(r.out, "controlmode: ok")) << r.out;
  EXPECT_TRUE(has_line(r.out, "too often: error statistics 5: the least interval here is 10 ms (0 turns them off)"))
      << r.out;
  EXPECT_TRUE(has_line(r.out, "fields: 5")) << r.out;
  EXPECT_TRUE(has_line(r.out, "tx packets grew: True tx bytes grew: True drops: 0")) << r.out;
  EXPECT_TRUE(has_line(r.out, "after off: None")) << r.out;
  EXPECT_NE(r.out.find("send in control: error send is not a command of control mode"), std::string::npos)
      << r.out;
  auto end = srv.stop();
  EXPECT_EQ(end.exit_code, 0) << end.out;
}

// Ten python-can visits one after another: each is served, each ends with
// its line, and the server holds no more descriptors than after the first.
// One Python process opens a new bus for each line it reads (starting ten
// interpreters was most of this test's time in the guest).
TEST_F(SocketcandSession, TenReconnectsLeakNothing) {
  auto srv = socketcand_process::start({can0, "--listen", "127.0.0.1:0"});
  ASSERT_NE(srv.port, 0);
  const std::string py = R"(
import can, subprocess, sys
for frame in sys.stdin:
    bus = can.Bus(interface='socketcand', host='127.0.0.1', port=int(sys.argv[1]), channel=sys.argv[2])
    subprocess.run(["cansend", sys.argv[2], frame.strip()], check=True)
    m = bus.recv(60)
    print("rx", "%X" % m.arbitration_id if m else None, m.data.hex().upper() if m else None, flush=True)
    bus.shutdown()
)";
  const auto ended = [&](std::size_t n) {
    for (int i = 0; i < 300 && lines_with(srv.joined(), " ends: ").size() < n; ++i) srv.drain_for(100ms);
    return lines_with(srv.joined(), " ends: ").size();
  };
  auto client = child::spawn({system_python, "-c", py, std::to_string(srv.port), can0}, "", true);
  std::size_t after_first = 0;
  for (int i = 0; i < 10; ++i) {
    const std::string n = std::to_string(i);
    ASSERT_TRUE(client.write_input("1" + n + "0#0" + n + "\n")) << client.wait(10s).err;
    auto line = client.read_line(120s);
    ASSERT_TRUE(line) << "reconnect " << i << ": " << client.wait(10s).err << srv.joined();
    EXPECT_EQ(*line, "rx 1" + n + "0 0" + n) << srv.joined();
    ASSERT_EQ(ended(i + 1), static_cast<std::size_t>(i + 1)) << srv.joined();
    if (i == 0) after_first = open_fds(srv.proc.pid());
  }
  client.close_input();
  auto r = client.wait(60s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GT(after_first, 0u);
  EXPECT_EQ(open_fds(srv.proc.pid()), after_first) << srv.joined();
  auto end = srv.stop();
  EXPECT_EQ(end.exit_code, 0) << end.out;
}

}  // namespace
