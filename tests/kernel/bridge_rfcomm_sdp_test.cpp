// `anysock bridge` to an RFCOMM device named without a channel: the bridge
// finds the channel by SDP, as `anysock send` does (label
// kernel-bluetoothd: needs bluetoothd -C for the far echo's SDP record).
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>

#include "bridge_support.hpp"
#include "rfcomm_support.hpp"

using namespace std::chrono_literals;
using namespace anysock::test;

namespace {

class BridgeRfcommSdp : public rfcomm_test {
 protected:
  void SetUp() override {
    rfcomm_test::SetUp();
    require({"ANYSOCK_BLUETOOTHD"});
  }
  // bluetoothd's log tail when a test failed (as rfcomm_sdp_test.cpp does).
  void TearDown() override {
    if (!HasFailure()) return;
    const std::string log = kernel_env("ANYSOCK_BLUETOOTHD_LOG");
    if (log.empty()) return;
    std::ifstream in(log);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text.size() > 8000) text = "[...]" + text.substr(text.size() - 8000);
    std::cerr << "bluetoothd's log (" << log << "):\n" << text << "\n";
  }
};

TEST_F(BridgeRfcommSdp, FarDeviceWithoutAChannelIsFoundBySdp) {
  auto far = logged_server::start({"rfcomm://" + hci0 + "?name=anysock-bridge-sdp"});
  ASSERT_EQ(far.bound.size(), 1u) << far.joined();
  ASSERT_TRUE(far.wait_for("SDP record published: 'anysock-bridge-sdp'", 30s)) << far.joined();
  auto br = bridge_process::start(
      {"--log-level", "debug", "tcp://[::1]:0", "rfcomm://" + addr0 + "?adapter=" + hci1 + "&name=anysock-bridge-sdp"});
  ASSERT_TRUE(br.started);
  const std::string tcp = "tcp://[::1]:" + std::to_string(br.port());
  auto r = run_anysock({"send", tcp, "found by SDP", "--timeout", "90"}, 240s);
  // Under bluetoothd the first pairing of the two controllers was seen
  // failing now and then (rfcomm_sdp_test.cpp): keys forgotten, once more.
  if (r.exit_code != 0) {
    std::printf("first try through the bridge failed (exit %d: %s); keys forgotten, once more\n", r.exit_code,
                r.err.c_str());
    forget_keys();
    r = run_anysock({"send", tcp, "found by SDP", "--timeout", "90"}, 240s);
  }
  EXPECT_EQ(r.exit_code, 0) << r.err << "\nbridge:\n" << br.joined();
  EXPECT_EQ(r.out, "found by SDP\n");
  auto b = br.stop();
  EXPECT_EQ(b.exit_code, 0) << b.out;
  EXPECT_NE(b.out.find("is on channel " + std::to_string(far.channel())), std::string::npos)
      << "the bridge's debug log names the channel SDP gave: " << b.out;
}

}  // namespace
