// The CAN echo on a real kernel: our client and responder, and peers nobody
// here wrote (can-utils, python-can), over the harness's vcan interfaces.
#include <signal.h>

#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "can_support.hpp"
#include "kernel_env.hpp"
#include "serve_process.hpp"

using namespace std::chrono_literals;
using namespace anysock::test;

namespace {

constexpr const char* system_python = "/usr/bin/python3";

std::string hex_bytes(int n, int start = 0) {
  static const char* digits = "0123456789ABCDEF";
  std::string s;
  for (int i = start; i < start + n; ++i) {
    s += digits[(i >> 4) & 0xF];
    s += digits[i & 0xF];
  }
  return s;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

class CanEcho : public can_buses_test {};

TEST_F(CanEcho, ClassicFramesOurClientOurResponder) {
  const std::string uri = "can://" + can0 + "?rx=123&tx=456";
  auto srv = serve_process::start({uri});
  ASSERT_EQ(srv.bound.size(), 1u);
  auto r = run_anysock({"send", uri, "123#DEADBEEF", "123#11.22", "123#"}, 120s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "  " + can0 + "  456   [4]  DE AD BE EF\n  " + can0 + "  456   [2]  11 22\n  " + can0 +
                       "  456   [0]\n");
}

TEST_F(CanEcho, FdFrameOf64BytesWithBrsKeepsLengthAndFlags) {
  const std::string uri = "can://" + canfd + "?rx=123&tx=456&fd=1";
  auto srv = serve_process::start({uri});
  auto r = run_anysock({"send", uri, "123##1" + hex_bytes(64)}, 120s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("  " + canfd + "  456  [64]  00 01 02", 0), 0u) << r.out;
}

TEST_F(CanEcho, ExtendedIds) {
  const std::string uri = "can://" + can0 + "?rx=18DAF110&tx=18DA10F1";
  auto srv = serve_process::start({uri});
  auto r = run_anysock({"send", uri, "18DAF110#0102030405060708"}, 120s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "  " + can0 + "  18DA10F1   [8]  01 02 03 04 05 06 07 08\n");
}

TEST_F(CanEcho, DefaultsCarryTheSeedMessagesInFrames) {
  auto srv = serve_process::start({"can://" + can0});
  auto r = run_anysock({"send", "can://" + can0}, 120s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto l = lines(r.out);
  ASSERT_EQ(l.size(), 5u) << r.out;  // "Hello, w" "orld" + 21 UTF-8 bytes in 8, 8, 5
  EXPECT_EQ(l[0], "  " + can0 + "  7E8   [8]  48 65 6C 6C 6F 2C 20 77");
}

TEST_F(CanEcho, IsotpSeedMessagesAndAFullSizeMessage) {
  auto srv = serve_process::start({"isotp://" + can0 + "?rx=7E0&tx=7E8"});
  const std::string client = "isotp://" + can0 + "?rx=7E8&tx=7E0";
  auto r = run_anysock({"send", client}, 120s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Hello, world\n汉语/漢語 Hànyǔ\n");
  std::string big;
  for (int i = 0; i < 4095; ++i) big += static_cast<char>('a' + i % 26);
  auto b = run_anysock({"send", client, big, "-q", "--timeout", "60"}, 180s);
  EXPECT_EQ(b.exit_code, 0) << b.err;
}

TEST_F(CanEcho, IsotpWithFdAndPadding) {
  const std::string srv_uri = "isotp://" + canfd + "?rx=7E0&tx=7E8&fd=1&pad=CC";
  auto srv = serve_process::start({srv_uri});
  std::string msg(300, 'f');
  auto r = run_anysock({"send", "isotp://" + canfd + "?rx=7E8&tx=7E0&fd=1&pad=CC", msg, "-q"}, 120s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(CanEcho, CansendToOurResponderCandumpSeesTheReply) {
  auto srv = serve_process::start({"can://" + can0 + "?rx=123&tx=456"});
  // Only replies pass candump's filter; a reply to the probe proves it is bound.
  auto dump = candump_ready(can0, {can0 + ",456:7FF"}, "123#00");
  ASSERT_EQ(run({"cansend", can0, "123#CAFE0001"}, 30s).exit_code, 0);
  auto line = dump.read_line(60s);
  ASSERT_TRUE(line);
  EXPECT_EQ(line->substr(line->find(") ") + 2), can0 + " 456#CAFE0001");
  // Our client prints a reply exactly as candump's default format does.
  auto plain = child::spawn({"candump", "-n", "1", can0 + ",456:7FF"});
  std::string ours;
  bool compared = false;
  for (int i = 0; i < 60 && !compared; ++i) {
    auto r = run_anysock({"send", "can://" + can0 + "?rx=123&tx=456", "123#0102A0B0"}, 60s);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ours = r.out.substr(0, r.out.find('\n'));
    if (auto theirs = plain.read_line(1s)) {
      EXPECT_EQ(ours, *theirs);
      compared = true;
    }
  }
  EXPECT_TRUE(compared) << "candump never printed our reply";
}

TEST_F(CanEcho, RemoteAndErrorFramesAreLoggedNotEchoed) {
  auto srv = serve_process::start({"can://" + can0 + "?rx=123&tx=456&err=1"});
  auto dump = candump_ready(can0, {can0 + ",456:7FF"}, "123#00");
  ASSERT_EQ(run({"cansend", can0, "123#R"}, 30s).exit_code, 0);
  ASSERT_EQ(run({"cansend", can0, "20000004#0000000000000000"}, 30s).exit_code, 0);  // an error frame
  ASSERT_EQ(run({"cansend", can0, "123#AB"}, 30s).exit_code, 0);
  auto line = dump.read_line(60s);
  ASSERT_TRUE(line);
  EXPECT_EQ(line->substr(line->find(") ") + 2), can0 + " 456#AB") << "the first reply answers the data frame";
  srv.proc.signal(SIGTERM);
  auto r = srv.proc.wait(60s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("remote request 123#R not answered"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("error frame"), std::string::npos) << r.err;
}

TEST_F(CanEcho, IsotpsendAndIsotprecvAgainstOurEcho) {
  auto srv = serve_process::start({"isotp://" + can0 + "?rx=7E0&tx=7E8"});
  for (int size : {3, 100}) {
    std::string payload;
    for (int i = 0; i < size; ++i) payload += (i ? " " : "") + hex_bytes(1, i & 0xFF);
    auto recv = child::spawn({"isotprecv", "-s", "7E0", "-d", "7E8", can0});
    std::this_thread::sleep_for(500ms);  // isotprecv prints nothing when ready
    auto sent = run({"isotpsend", "-s", "7E0", "-d", "7E8", can0}, 60s, payload + "\n");
    ASSERT_EQ(sent.exit_code, 0) << sent.err;
    auto got = recv.read_line(60s);
    ASSERT_TRUE(got) << "isotprecv got no echo of " << size << " bytes: " << recv.wait(1s).err;
    auto trimmed = got->substr(0, got->find_last_not_of(' ') + 1);
    EXPECT_EQ(trimmed, payload) << size << " bytes";
    recv.wait(30s);
  }
}

TEST_F(CanEcho, PythonCanThousandFramesThousandReplies) {
  auto srv = serve_process::start({"can://" + can0 + "?rx=123&tx=456"});
  const std::string script = R"(
import can, sys
ok = 0
with can.Bus(interface="socketcan", channel=sys.argv[1],
             can_filters=[{"can_id": 0x456, "can_mask": 0x7FF, "extended": False}]) as bus:
    for i in range(1000):
        data = i.to_bytes(4, "big") + bytes([i & 0xFF] * (i % 5))
        bus.send(can.Message(arbitration_id=0x123, data=data, is_extended_id=False))
        r = bus.recv(timeout=10)
        if r is not None and r.arbitration_id == 0x456 and bytes(r.data) == data:
            ok += 1
print(ok)
)";
  auto r = run({system_python, "-c", script, can0}, 600s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "1000\n") << r.err;
}

TEST_F(CanEcho, TwoDefaultRespondersAnswerOnceEachThenSilence) {
  auto a = serve_process::start({"can://" + can0});
  auto b = serve_process::start({"can://" + can0});
  auto dump = candump_ready(can0, {can0}, "111#01");  // every frame on the bus
  ASSERT_EQ(run({"cansend", can0, "7E0#0102"}, 30s).exit_code, 0);
  std::this_thread::sleep_for(5s);  // a storm would print thousands of frames by now
  dump.signal(SIGINT);
  auto r = dump.wait(30s);
  int requests = 0, replies = 0, other = 0;
  for (auto& l : lines(r.out)) {
    auto frame = l.substr(l.find(") ") + 2);
    if (frame == can0 + " 7E0#0102") ++requests;
    else if (frame == can0 + " 7E8#0102") ++replies;
    else if (frame != can0 + " 111#01") ++other;
  }
  EXPECT_EQ(requests, 1);
  EXPECT_EQ(replies, 2) << r.out;
  EXPECT_EQ(other, 0) << r.out;
}

TEST_F(CanEcho, ErrorsAreOneLineEach) {
  struct {
    std::vector<std::string> args;
    int code;
    const char* says;
  } cases[] = {
      {{"serve", "can://vcan9"}, 2, "no network interface 'vcan9'"},
      {{"serve", "can://lo"}, 2, "not a CAN interface"},
      {{"serve", "can://" + can0 + "?fd=1"}, 2, "classic CAN only"},
      {{"serve", "can://" + can0 + "?rx=123&tx=123"}, 2, "answer each other"},
      {{"send", "can://" + can0 + "?rx=123&tx=456", "123#112233445566778899"}, 2, "at most 8 bytes"},
      {{"send", "can://" + can0 + "?rx=123&tx=456", "12345#00"}, 2, "3 hex digits"},
      {{"send", "can://" + can0 + "?rx=123&tx=456", "123#00", "--timeout", "1"}, 4, "no echo"},
  };
  for (auto& c : cases) {
    auto r = run_anysock(c.args, 60s);
    EXPECT_EQ(r.exit_code, c.code) << c.args[1] << ": " << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
    EXPECT_EQ(line_count(r.err), 1u) << r.err;
  }
  // A down interface: made here, as root in the guest or on a laptop.
  if (run({"ip", "link", "add", "anysockdown", "type", "vcan"}, 30s).exit_code == 0) {
    auto r = run_anysock({"serve", "can://anysockdown"}, 60s);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("is down"), std::string::npos) << r.err;
    run({"ip", "link", "del", "anysockdown"}, 30s);
  }
}

// CI's smoke of `anysock bench` over CAN: a few hundred verified round trips.
TEST_F(CanEcho, BenchSmokeRawAndIsotp) {
  const std::string raw = "can://" + can0 + "?rx=123&tx=456";
  auto srv = serve_process::start({raw, "--log-level", "warn"});
  auto r = run_anysock({"bench", raw, "-s", "8", "-p", "4", "-n", "300", "-w", "0", "--json"}, 300s);
  EXPECT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_GE(std::stoull("0" + json_field(r.out, "round_trips")), 300u) << r.out;
  EXPECT_EQ(json_field(r.out, "mismatches"), "0");
  EXPECT_EQ(json_field(r.out, "lost"), "0");

  auto iso = serve_process::start({"isotp://" + can0 + "?rx=7E0&tx=7E8", "--log-level", "warn"});
  auto i = run_anysock({"bench", "isotp://" + can0 + "?rx=7E8&tx=7E0", "-s", "64", "-n", "100", "-w", "0",
                        "--json"},
                       300s);
  EXPECT_EQ(i.exit_code, 0) << i.err << i.out;
  EXPECT_GE(std::stoull("0" + json_field(i.out, "round_trips")), 100u) << i.out;
  EXPECT_EQ(json_field(i.out, "mismatches"), "0");
}

// `serve --busy-poll` on a bus: the thread spins instead of sleeping in
// epoll_wait, and must still answer every frame at 1 and at 32 in flight
// (the CAN link's readiness wait assumes nothing about how the thread waits
// between handlers, only that it does not re-enter the scheduler inside a
// receive), over CAN_RAW and ISO-TP alike, and stop on SIGTERM.
TEST_F(CanEcho, BusyPollingResponderAnswersEveryFrame) {
  const std::string raw = "can://" + can0 + "?rx=123&tx=456";
  auto srv = serve_process::start({raw, "isotp://" + can0 + "?rx=7E0&tx=7E8", "--busy-poll", "300",
                                   "--log-level", "warn"},
                                  2);
  for (const char* window : {"1", "32"}) {
    auto r = run_anysock({"bench", raw, "-s", "8", "-p", window, "-n", "2000", "-w", "0", "--json"}, 300s);
    EXPECT_EQ(r.exit_code, 0) << window << " in flight: " << r.err << r.out;
    EXPECT_GE(std::stoull("0" + json_field(r.out, "round_trips")), 2000u) << r.out;
    EXPECT_EQ(json_field(r.out, "mismatches"), "0") << r.out;
    EXPECT_EQ(json_field(r.out, "lost"), "0") << r.out;
  }
  auto i = run_anysock({"send", "isotp://" + can0 + "?rx=7E8&tx=7E0"}, 120s);
  EXPECT_EQ(i.exit_code, 0) << i.err;
  EXPECT_EQ(i.out, "Hello, world\n汉语/漢語 Hànyǔ\n");
  srv.proc.signal(SIGTERM);
  auto end = srv.proc.wait(60s);
  EXPECT_FALSE(end.timed_out);
  EXPECT_EQ(end.exit_code, 0) << end.err;
}

// The load generator against the kernel's own echo (can-gw, which answers
// inside the sender's system call): with 32 frames in flight the client's
// socket never runs empty, so every reply sends the next request from the
// receive that brought it. Tens of thousands of them must be verified and
// none lost, with nothing building up on the client's stack.
TEST_F(CanEcho, BenchKeepsThirtyTwoInFlightAgainstCangw) {
  run({"modprobe", "can-gw"}, 60s);  // rtnetlink does not load it on demand
  auto added = run({"cangw", "-A", "-s", can0, "-d", can0, "-i", "-e", "-f", "123:C00007FF", "-m",
                    "SET:I:456.0.0000000000000000"},
                   30s);
  ASSERT_EQ(added.exit_code, 0) << "cangw -A (needs root and the can-gw module): " << added.err;
  struct flush_rules {
    ~flush_rules() { run({"cangw", "-F"}, 30s); }
  } flush;

  auto r = run_anysock({"bench", "can://" + can0 + "?rx=123&tx=456", "-s", "8", "-p", "32", "-n", "50000", "-w",
                        "0", "--json"},
                       600s);
  EXPECT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_GE(std::stoull("0" + json_field(r.out, "round_trips")), 50000u) << r.out;
  EXPECT_EQ(json_field(r.out, "mismatches"), "0");
  EXPECT_EQ(json_field(r.out, "errors"), "0");
  EXPECT_EQ(json_field(r.out, "lost"), "0");
}

}  // namespace
