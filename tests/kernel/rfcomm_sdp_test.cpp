// The echo server's SDP record on a real kernel with bluetoothd -C (label
// kernel-bluetoothd): visible to sdptool, found by our client by UUID
// without a channel, withdrawn on exit; and without a reachable bluetoothd
// the server still serves and says once that nothing was published.
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "rfcomm_support.hpp"

using namespace std::chrono_literals;
using namespace anysock::test;

namespace {

constexpr const char* custom_uuid = "5C2F0E4A-9D1B-4C3E-8A5F-0123456789AB";

class RfcommSdp : public rfcomm_test {
 protected:
  void SetUp() override {
    rfcomm_test::SetUp();
    require({"ANYSOCK_BLUETOOTHD"});
  }
  // What bluetoothd said (the harness's log of the one it started), when a
  // test failed: a crash, a restart or a stuck SDP server shows there.
  void TearDown() override {
    if (!HasFailure()) return;
    const std::string log = kernel_env("ANYSOCK_BLUETOOTHD_LOG");
    if (log.empty()) return;
    std::ifstream in(log);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    constexpr std::size_t keep = 16000;
    if (text.size() > keep) text = "[...]" + text.substr(text.size() - keep);
    std::cerr << "bluetoothd's log (" << log << "):\n" << text << "\n";
  }
  // Our client, asked once more when pairing failed: under bluetoothd the
  // two virtual controllers pair on the first RFCOMM connect, and that
  // pairing was seen failing ("Authentication Failure", in two of three CI
  // runs on 2026-11-25, never in targeted runs) while bluetoothd, which
  // browses a device right after pairing, was busy with the link. SDP is
  // what these tests check, not pairing: keys are forgotten on both sides
  // and the client runs again; a second failure fails the test. What the
  // first run said goes in front of the result's err.
  process_result send_repairing_once(const std::vector<std::string>& args) const {
    auto r = run_anysock(args, 180s);
    if (r.exit_code != 3 || r.err.find("authentication with") == std::string::npos) return r;
    std::printf("pairing failed once, keys forgotten, client again: %s", r.err.c_str());
    forget_keys();
    auto again = run_anysock(args, 180s);
    again.err = "first run: " + r.err + again.err;
    return again;
  }
  // `sdptool browse TARGET`, asked up to three times: sdptool is the
  // observer here, not what is tested, and it fails on bluetoothd's
  // hiccups: bluetoothd 5.66 keys the continuation state of a long answer
  // by the second only, shared by all its SDP clients (src/sdpd-request.c),
  // and bluetoothd itself browses both controllers after each pairing, so
  // two long answers in the same second can mix (same-second pairs are in
  // the HCI traces); a local request not answered within 20 s fails too.
  // The result of the last try, with what the failed ones said (sdptool
  // says why on stdout) in front of its err.
  // Before a retry, the ACL links are let go first: bluetoothd reacts to a
  // new link (it browses the new device itself). Its local SDP server was
  // also seen not answering for minutes after a remote browse and our
  // record's withdrawal, on a loaded host; the cause is not known yet.
  process_result sdptool_browse(const std::string& target) const {
    std::string failed;
    for (int i = 1;; ++i) {
      auto r = run({"sdptool", "browse", target}, 120s);
      if (r.exit_code == 0 || i == 3) {
        r.err = failed + r.err;
        return r;
      }
      failed += "[sdptool browse " + target + ", try " + std::to_string(i) + ": exit " + std::to_string(r.exit_code) +
                "]\n" + r.out + r.err + "\n";
      std::cerr << "sdptool browse " << target << " failed (try " << i << "), asking again:\n" << r.out << r.err;
      wait_for_no_acl();
      std::this_thread::sleep_for(std::chrono::seconds(i));
    }
  }
  // `sdptool browse` output from the record named `name` on.
  static std::string record_named(const std::string& browse, const std::string& name) {
    auto at = browse.find("Service Name: " + name + "\n");
    return at == std::string::npos ? std::string() : browse.substr(at, browse.find("\n\n", at) - at);
  }
};

TEST_F(RfcommSdp, RecordIsBrowsableFromTheOtherControllerAndWithdrawnOnExit) {
  auto srv = logged_server::start({"rfcomm://" + hci0 + "?name=anysock-sdp-a"});
  ASSERT_EQ(srv.bound.size(), 1u) << srv.joined();
  const std::string ch = std::to_string(srv.channel());
  EXPECT_TRUE(srv.wait_for("SDP record published: 'anysock-sdp-a', class 0x1101, channel " + ch, 30s))
      << srv.joined();
  // Over the air, as a phone would ask: L2CAP to controller 0's SDP server.
  auto remote = sdptool_browse(addr0);
  ASSERT_EQ(remote.exit_code, 0) << remote.out << remote.err;  // sdptool says why on stdout
  auto rec = record_named(remote.out, "anysock-sdp-a");
  ASSERT_FALSE(rec.empty()) << remote.out;
  EXPECT_NE(rec.find("\"Serial Port\" (0x1101)"), std::string::npos) << rec;
  EXPECT_NE(rec.find("Channel: " + ch + "\n"), std::string::npos) << rec;

  wait_for_no_acl();  // the browse's link, and what bluetoothd does on it, are over
  srv.proc.signal(SIGTERM);
  EXPECT_EQ(srv.proc.wait(60s).exit_code, 0);
  auto after = sdptool_browse("local");
  ASSERT_EQ(after.exit_code, 0) << after.out << after.err;
  EXPECT_TRUE(record_named(after.out, "anysock-sdp-a").empty()) << after.out;
}

TEST_F(RfcommSdp, ClientFindsTheChannelByUuidAndName) {
  auto srv = logged_server::start({"rfcomm://" + hci0 + "?name=anysock-sdp-b"});
  ASSERT_EQ(srv.bound.size(), 1u) << srv.joined();
  ASSERT_TRUE(srv.wait_for("SDP record published: 'anysock-sdp-b'", 30s)) << srv.joined();
  // Other Serial Port records may exist (sdptool add in the smoke test), so
  // the name picks ours; the UUID is the default, Serial Port.
  auto r = send_repairing_once({"send", "rfcomm://" + addr0 + "?adapter=" + hci1 + "&name=anysock-sdp-b",
                                "--timeout", "60", "--log-level", "debug"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Hello, world\n汉语/漢語 Hànyǔ\n");
  EXPECT_NE(r.err.find("SDP: 'anysock-sdp-b' is on channel " + std::to_string(srv.channel())), std::string::npos)
      << r.err;
}

TEST_F(RfcommSdp, CustomServiceUuidIsPublishedAndFound) {
  auto srv = logged_server::start({"rfcomm://" + hci0 + "?uuid=" + custom_uuid + "&name=anysock-sdp-c"});
  ASSERT_EQ(srv.bound.size(), 1u) << srv.joined();
  ASSERT_TRUE(srv.wait_for("SDP record published: 'anysock-sdp-c'", 30s)) << srv.joined();
  auto r = send_repairing_once(
      {"send", "rfcomm://" + addr0 + "?adapter=" + hci1 + "&uuid=" + custom_uuid, "by uuid", "--timeout", "60"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "by uuid\n");
}

TEST_F(RfcommSdp, LookupOfAServiceNobodyPublishesSaysSo) {
  auto r = run_anysock({"send", "rfcomm://" + addr0 + "?adapter=" + hci1 + "&uuid=0x1234", "--timeout", "60"}, 180s);
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find(addr0 + " publishes no RFCOMM service of class 0x1234"), std::string::npos) << r.err;
}

// bluetoothd's SDP socket hidden in a private mount namespace: the server
// cannot publish, serves anyway, and says so once for its two channels.
TEST_F(RfcommSdp, WithoutBluetoothdTheServerServesAndSaysOnce) {
  auto srv = logged_server::start_with("exec unshare --mount --propagation private sh -c "
                                       "'mount -t tmpfs none /run && exec \"$0\" serve \"$@\"' \"$0\" \"$@\" 2>&1",
                                       {"rfcomm://" + hci0 + ":21", "rfcomm://" + hci0 + ":22"}, 2);
  ASSERT_EQ(srv.bound.size(), 2u) << srv.joined();
  auto warned = srv.wait_for("no SDP record published", 10s);
  ASSERT_TRUE(warned) << srv.joined();
  EXPECT_NE(warned->find("run bluetoothd with -C"), std::string::npos) << *warned;
  auto r = run_anysock({"send", client_uri(22), "--timeout", "60"}, 180s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  srv.proc.signal(SIGTERM);
  auto rest = srv.proc.wait(60s);
  std::size_t count = 0;
  for (auto text = srv.joined() + rest.out; text.find("no SDP record published") != std::string::npos;
       text = text.substr(text.find("no SDP record published") + 1))
    ++count;
  EXPECT_EQ(count, 1u) << srv.joined() << rest.out;
}

}  // namespace
