// Proves the harness's CAN fixtures against the real kernel with tools nobody
// here wrote: can-utils (cansend/candump) and python3-can.
#include <fstream>
#include <string>

#include "kernel_env.hpp"
#include "process.hpp"

using namespace std::chrono_literals;
using anysock::test::child;
using anysock::test::run;

namespace {

// Debian's interpreter: python3-can is a Debian package, and python3 on PATH
// may be another (pyenv) without it.
constexpr const char* system_python = "/usr/bin/python3";

// candump -L prints "(1700000000.123456) vcan0 123#DEADBEEF": drop the time.
std::string without_timestamp(const std::string& line) {
  auto space = line.find(") ");
  return space == std::string::npos ? line : line.substr(space + 2);
}

// Starts candump for one frame, then sends `frame` every iteration until
// candump prints it (candump may not have bound its socket when the first
// frame goes out). Bounded: 60 tries of ~1 s.
std::string send_until_dumped(const std::string& ifc, const std::string& frame) {
  auto dump = child::spawn({"candump", "-L", "-n", "1", ifc});
  for (int i = 0; i < 60; ++i) {
    auto sent = run({"cansend", ifc, frame}, 30s);
    if (sent.exit_code != 0) {
      ADD_FAILURE() << "cansend " << ifc << " " << frame << " exited " << sent.exit_code << ": " << sent.out
                    << sent.err;
      return "";
    }
    if (auto line = dump.read_line(1s)) {
      auto r = dump.wait(10s);
      EXPECT_EQ(r.exit_code, 0) << r.err;
      return without_timestamp(*line);
    }
  }
  auto r = dump.wait(1s);
  ADD_FAILURE() << "candump on " << ifc << " saw nothing in 60 tries; stderr: " << r.err;
  return "";
}

std::string sysfs(const std::string& ifc, const char* attr) {
  std::ifstream f("/sys/class/net/" + ifc + "/" + attr);
  std::string v;
  std::getline(f, v);
  return v;
}

std::string hex_bytes(int n) {
  static const char* digits = "0123456789ABCDEF";
  std::string s;
  for (int i = 0; i < n; ++i) {
    s += digits[(i >> 4) & 0xF];
    s += digits[i & 0xF];
  }
  return s;
}

class CanSmoke : public anysock::test::kernel_test {
 protected:
  void SetUp() override {
    require({"ANYSOCK_CAN_IF0", "ANYSOCK_CAN_FD_IF"});
    can0 = anysock::test::kernel_env("ANYSOCK_CAN_IF0");
    canfd = anysock::test::kernel_env("ANYSOCK_CAN_FD_IF");
  }
  std::string can0, canfd;
};

TEST_F(CanSmoke, FixtureInterfacesAreUpWithClassicAndFdMtu) {
  EXPECT_EQ(sysfs(can0, "mtu"), "16");   // sizeof(struct can_frame)
  EXPECT_EQ(sysfs(canfd, "mtu"), "72");  // sizeof(struct canfd_frame)
  EXPECT_EQ(std::stoi(sysfs(can0, "flags"), nullptr, 16) & 1, 1) << can0 << " is down";
  EXPECT_EQ(std::stoi(sysfs(canfd, "flags"), nullptr, 16) & 1, 1) << canfd << " is down";
}

TEST_F(CanSmoke, ClassicFrameCrossesVcan) {
  EXPECT_EQ(send_until_dumped(can0, "123#DEADBEEF"), can0 + " 123#DEADBEEF");
}

TEST_F(CanSmoke, ExtendedIdRemoteFrameCrossesVcan) {
  EXPECT_EQ(send_until_dumped(can0, "1ABCDEF0#R"), can0 + " 1ABCDEF0#R");
}

TEST_F(CanSmoke, FdFrameWith64BytesCrossesTheFdInterface) {
  auto data = hex_bytes(64);
  auto line = send_until_dumped(canfd, "123##1" + data);
  // Flags nibble: BRS (1) as sent; kernels since 6.0 also report FDF (4).
  EXPECT_TRUE(line == canfd + " 123##5" + data || line == canfd + " 123##1" + data) << line;
}

TEST_F(CanSmoke, FdFrameIsRefusedOnTheClassicInterface) {
  auto r = run({"cansend", can0, "123##1AABB"}, 30s);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE((r.out + r.err).find("not CAN FD capable"), std::string::npos) << r.out << r.err;
}

TEST_F(CanSmoke, PythonCanReceivesWhatCansendSends) {
  const std::string script = R"(
import can, sys
with can.Bus(interface="socketcan", channel=sys.argv[1]) as bus:
    print("ready", flush=True)
    msg = bus.recv(timeout=60)
    print("none" if msg is None else "%03X#%s" % (msg.arbitration_id, msg.data.hex().upper()), flush=True)
)";
  auto py = child::spawn({system_python, "-c", script, can0});
  auto ready = py.read_line(60s);
  ASSERT_EQ(ready.value_or("<nothing>"), "ready") << py.wait(5s).err;
  auto sent = run({"cansend", can0, "321#0102030405060708"}, 30s);
  ASSERT_EQ(sent.exit_code, 0) << sent.out << sent.err;
  EXPECT_EQ(py.read_line(60s).value_or("<nothing>"), "321#0102030405060708");
  auto r = py.wait(30s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

}  // namespace
