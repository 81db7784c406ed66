// The L2CAP echo on a real kernel, over the harness's two linked virtual
// controllers: our server on controller 0, our client and peers nobody here
// wrote (Python's AF_BLUETOOTH seqpacket socket, BlueZ's l2test) on
// controller 1; BR/EDR channels and LE credit-based ones.
#include <string>
#include <vector>

#include "rfcomm_support.hpp"

using namespace std::chrono_literals;
using namespace anysock::test;

namespace {

const std::string peer_script = std::string(ANYSOCK_SOURCE_DIR) + "/tests/peers/l2cap_seqpacket_client.py";

// The PSM of a listening line: "l2cap://00:AA:01:00:00:23:0x1001?le=1".
int psm_of(const std::string& bound) { return std::stoi(bound.substr(bound.rfind(':') + 1), nullptr, 16); }
std::string hex(int psm) {
  char b[8];
  std::snprintf(b, sizeof b, "0x%04X", psm);
  return b;
}

// Same controller hygiene as RFCOMM's: no ACL link or key left by the case
// before.
class L2capEcho : public rfcomm_test {
 protected:
  std::string client(int psm, const std::string& extra = "") const {
    return "l2cap://" + addr0 + ":" + hex(psm) + "?adapter=" + hci1 + extra;
  }
  // LE: controller 0 advertises (connectable), both have LE on.
  void le_on() const {
    for (const auto& h : {hci0, hci1}) run({"btmgmt", "--index", h.substr(3), "le", "on"}, 30s);
    auto r = run({"btmgmt", "--index", hci0.substr(3), "advertising", "on"}, 30s);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  }
  void TearDown() override {
    run({"btmgmt", "--index", hci0.substr(3), "advertising", "off"}, 30s);
    rfcomm_test::TearDown();
  }
};

TEST_F(L2capEcho, BredrSeedMessagesOnTheFirstFreePsm) {
  auto srv = logged_server::start({"l2cap://" + hci0});
  ASSERT_EQ(srv.bound.size(), 1u) << srv.joined();
  EXPECT_EQ(srv.bound[0].rfind("l2cap://" + addr0 + ":0x1", 0), 0u) << srv.bound[0];
  const int psm = psm_of(srv.bound[0]);
  EXPECT_GE(psm, 0x1001);
  auto r = run_anysock({"send", client(psm), "--timeout", "60"}, 180s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Hello, world\n汉语/漢語 Hànyǔ\n");
  EXPECT_TRUE(srv.wait_for("MTU in 672, out 672, basic mode", 30s)) << srv.joined();
}

// Each message comes back as the one message it was, 1 byte up to the MTU
// both sides set; one byte over is refused with the MTU named.
TEST_F(L2capEcho, BredrBoundariesKeptFromOneByteToTheMtu) {
  auto srv = logged_server::start({"l2cap://" + hci0 + ":0x1003?imtu=1000&omtu=1000"});
  ASSERT_EQ(srv.bound.size(), 1u) << srv.joined();
  const std::string mtu = "&imtu=1000&omtu=1000";
  auto r = run_anysock({"send", client(0x1003, mtu), "a", std::string(48, 'b'), std::string(500, 'c'),
                        std::string(1000, 'd'), "--timeout", "60"},
                       180s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "a\n" + std::string(48, 'b') + "\n" + std::string(500, 'c') + "\n" + std::string(1000, 'd') + "\n");
  EXPECT_TRUE(srv.wait_for("MTU in 1000, out 1000", 30s)) << srv.joined();
  auto over = run_anysock({"send", client(0x1003, mtu), std::string(1001, 'e'), "--timeout", "60"}, 180s);
  EXPECT_NE(over.exit_code, 0);
  EXPECT_NE(over.err.find("over the channel's send MTU of 1000"), std::string::npos) << over.err;
}

TEST_F(L2capEcho, PythonSeqpacketClientKeepsBoundaries) {
  auto srv = logged_server::start({"l2cap://" + hci0 + ":0x1005"});
  ASSERT_EQ(srv.bound.size(), 1u) << srv.joined();
  auto r = run({system_python, peer_script, addr0, "0x1005", "--from", addr1, "12", "21", "600", "1", "672"}, 180s);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "Received 12 bytes, boundary kept\nReceived 21 bytes, boundary kept\n"
                   "Received 600 bytes, boundary kept\nReceived 1 bytes, boundary kept\n"
                   "Received 672 bytes, boundary kept\nall echoed\n");
}

// Seven channels at once, each verified message by message, in ERTM.
TEST_F(L2capEcho, BredrErtmSevenLinksBenchVerified) {
  auto srv = logged_server::start({"l2cap://" + hci0 + ":0x1007?mode=ertm"});
  ASSERT_EQ(srv.bound.size(), 1u) << srv.joined();
  auto r = run_anysock({"bench", client(0x1007, "&mode=ertm"), "-c", "7", "-s", "600", "-p", "2", "-n", "280", "-w",
                        "0", "-d", "240", "--timeout", "60", "--json"},
                       300s);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(json_field(r.out, "round_trips"), "280") << r.out;
  EXPECT_NE(r.out.find("\"errors\":0,\"mismatches\":0,\"connect_failures\":0,\"lost\":0"), std::string::npos) << r.out;
  EXPECT_TRUE(srv.wait_for("ertm mode", 30s)) << srv.joined();
}

// BlueZ's l2test -q sends numbered frames from one process and, in
// another, reads what comes back, checking each frame's sequence number
// and length: our echo must return every frame as it was. -D paces the
// frames (an LE channel's few credits otherwise run out: EAGAIN), -g keeps
// the channel open until the echoes are in. (l2test reads -P as decimal.)
void expect_l2test_frames_back(const process_result& r, int frames, int size) {
  const std::string line = std::to_string(size) + " bytes in ";
  int got = 0;
  for (auto at = r.err.find(line); at != std::string::npos; at = r.err.find(line, at + 1)) ++got;
  EXPECT_EQ(got, frames) << r.err;
  EXPECT_EQ(r.err.find("missmatch"), std::string::npos) << r.err;  // l2test's spelling
  EXPECT_EQ(r.err.find("Send failed"), std::string::npos) << r.err;
}

TEST_F(L2capEcho, L2testClientGetsItsFramesBack) {
  auto srv = logged_server::start({"l2cap://" + hci0 + ":0x1009"});
  ASSERT_EQ(srv.bound.size(), 1u) << srv.joined();
  auto r = run({"timeout", "60", "l2test", "-q", "-N", "5", "-b", "200", "-C", "1", "-D", "100", "-g", "3000", "-P",
                "4105", "-i", hci1, addr0},
               120s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  expect_l2test_frames_back(r, 5, 200);
  EXPECT_TRUE(srv.wait_for("link from " + addr1, 30s)) << srv.joined();
}

TEST_F(L2capEcho, LeCreditBasedSeedMessagesAndMessagesUpToTheMtu) {
  le_on();
  auto srv = logged_server::start({"l2cap://" + hci0 + ":0x80?le=1&imtu=512"});
  ASSERT_EQ(srv.bound.size(), 1u) << srv.joined();
  EXPECT_EQ(srv.bound[0], "l2cap://" + addr0 + ":0x0080?le=1");
  EXPECT_TRUE(srv.wait_for("advertising on", 10s)) << srv.joined();
  auto r = run_anysock({"send", client(0x80, "&le=1&imtu=512"), "--timeout", "60"}, 180s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Hello, world\n汉语/漢語 Hànyǔ\n");
  auto big = run_anysock({"send", client(0x80, "&le=1&imtu=512"), "x", std::string(512, 'y'), "--timeout", "60"},
                         180s);
  EXPECT_EQ(big.exit_code, 0) << big.err;
  EXPECT_EQ(big.out, "x\n" + std::string(512, 'y') + "\n");
  EXPECT_TRUE(srv.wait_for("MTU in 512, out 512, LE credit-based", 30s)) << srv.joined();
}

TEST_F(L2capEcho, LeL2testClientGetsItsFramesBack) {
  le_on();
  auto srv = logged_server::start({"l2cap://" + hci0 + ":0x81?le=1"});
  ASSERT_EQ(srv.bound.size(), 1u) << srv.joined();
  auto r = run({"timeout", "60", "l2test", "-q", "-V", "le_public", "-N", "5", "-b", "100", "-C", "1", "-D", "100",
                "-g", "3000", "-P", "129", "-i", hci1, addr0},
               120s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  expect_l2test_frames_back(r, 5, 100);
  EXPECT_TRUE(srv.wait_for("LE credit-based", 30s)) << srv.joined();
}

TEST_F(L2capEcho, ErrorsSayWhatIsWrong) {
  auto refused = run_anysock({"send", client(0x100B), "--timeout", "60"}, 180s);
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("refused PSM 0x100B: nothing listens there"), std::string::npos) << refused.err;
  auto srv = logged_server::start({"l2cap://" + hci0 + ":0x100D"});
  ASSERT_EQ(srv.bound.size(), 1u) << srv.joined();
  auto taken = run_anysock({"serve", "l2cap://" + hci0 + ":0x100D"}, 60s);
  EXPECT_NE(taken.exit_code, 0);
  EXPECT_NE(taken.err.find("PSM 0x100D on " + addr0 + " is taken by another L2CAP server"), std::string::npos)
      << taken.err;
  auto no_adapter = run_anysock({"serve", "l2cap://hci9:0x1001"}, 60s);
  EXPECT_NE(no_adapter.exit_code, 0);
  EXPECT_NE(no_adapter.err.find("no local Bluetooth adapter is named hci9"), std::string::npos) << no_adapter.err;
}

}  // namespace
