// Proves the harness's on-request bluetoothd (label kernel-bluetoothd): a
// system D-Bus and `bluetoothd -C` run, so SDP records can be registered the
// way libbluetooth's sdp_record_register does (through /run/sdp), and the
// controllers stay connectable although bluetoothd took them.
#include <string>

#include "kernel_env.hpp"
#include "process.hpp"

using namespace std::chrono_literals;
using anysock::test::run;

namespace {

class SdpSmoke : public anysock::test::kernel_test {
 protected:
  void SetUp() override { require({"ANYSOCK_BLUETOOTHD", "ANYSOCK_BT_HCI0", "ANYSOCK_BT_HCI1"}); }
};

TEST_F(SdpSmoke, SerialPortRecordIsRegisteredAndBrowsable) {
  auto add = run({"sdptool", "add", "--channel=9", "SP"}, 60s);
  ASSERT_EQ(add.exit_code, 0) << add.out << add.err;
  EXPECT_NE(add.out.find("Serial Port service registered"), std::string::npos) << add.out;
  auto browse = run({"sdptool", "browse", "local"}, 60s);
  ASSERT_EQ(browse.exit_code, 0) << browse.err;
  auto at = browse.out.find("Service Name: Serial Port");
  ASSERT_NE(at, std::string::npos) << browse.out;
  EXPECT_NE(browse.out.find("Channel: 9", at), std::string::npos) << browse.out;
}

TEST_F(SdpSmoke, ControllersStayConnectableUnderBluetoothd) {
  for (const char* v : {"ANYSOCK_BT_HCI0", "ANYSOCK_BT_HCI1"}) {
    auto r = run({"hciconfig", anysock::test::kernel_env(v)}, 30s);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("UP RUNNING PSCAN"), std::string::npos) << r.out;
  }
}

}  // namespace
