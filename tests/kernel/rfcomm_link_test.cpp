// RFCOMM links that go wrong, on a real kernel: bad adapters and channels,
// refused and unanswered connects, a link dropped mid-echo (the server
// keeps serving), and a dead link only the idle timeout can reap.
#include <signal.h>

#include <string>

#include "rfcomm_support.hpp"

using namespace std::chrono_literals;
using namespace anysock::test;

namespace {

constexpr const char* absent_addr = "00:1B:DC:0F:5A:7E";  // no controller has it

class RfcommLink : public rfcomm_test {};

TEST_F(RfcommLink, NoSuchAdapterByNameOrAddress) {
  auto by_name = run_anysock({"serve", "rfcomm://hci9:1"}, 60s);
  EXPECT_EQ(by_name.exit_code, 2) << by_name.err;
  EXPECT_NE(by_name.err.find("no local Bluetooth adapter is named hci9 (this machine has "), std::string::npos)
      << by_name.err;
  EXPECT_NE(by_name.err.find(hci0 + " " + addr0 + " (up)"), std::string::npos) << by_name.err;
  EXPECT_NE(by_name.err.find(hci1 + " " + addr1 + " (up)"), std::string::npos) << by_name.err;
  auto by_address = run_anysock({"serve", std::string("rfcomm://") + absent_addr + ":1"}, 60s);
  EXPECT_EQ(by_address.exit_code, 2) << by_address.err;
  EXPECT_NE(by_address.err.find(std::string("no local Bluetooth adapter has address ") + absent_addr),
            std::string::npos)
      << by_address.err;
  auto client = run_anysock({"send", "rfcomm://" + addr0 + ":1?adapter=hci9"}, 60s);
  EXPECT_EQ(client.exit_code, 2) << client.err;
  EXPECT_NE(client.err.find("is named hci9"), std::string::npos) << client.err;
}

TEST_F(RfcommLink, ChannelTakenByAnotherServer) {
  auto first = logged_server::start({"rfcomm://" + hci0 + ":17"});
  ASSERT_EQ(first.bound.size(), 1u) << first.joined();
  auto second = run_anysock({"serve", "rfcomm://" + hci0 + ":17"}, 60s);
  EXPECT_EQ(second.exit_code, 3) << second.err;
  EXPECT_NE(second.err.find("channel 17 on " + addr0 + " is taken by another RFCOMM server"), std::string::npos)
      << second.err;
}

TEST_F(RfcommLink, ConnectionRefusedWhereNothingListens) {
  auto r = run_anysock({"send", client_uri(29), "--timeout", "60"}, 120s);
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find(addr0 + " refused channel 29: nothing listens there"), std::string::npos) << r.err;
}

TEST_F(RfcommLink, PageTimeoutForAnAbsentDevice) {
  auto r = run_anysock({"send", std::string("rfcomm://") + absent_addr + ":1?adapter=" + hci1, "--timeout", "120"},
                       180s);
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find(std::string(absent_addr) + " did not answer the page"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("out of range, off, or not connectable"), std::string::npos) << r.err;
}

// `hcitool dc` on the server's controller drops the ACL link under a client
// that is echoing line after line: both sides see it, the server logs it and
// keeps serving, and a new client (the link comes back) is echoed.
TEST_F(RfcommLink, LinkDroppedMidEchoServerKeepsServing) {
  auto srv = logged_server::start({"rfcomm://" + hci0 + ":14"});
  ASSERT_EQ(srv.bound.size(), 1u) << srv.joined();
  std::string lines;
  for (int i = 0; i < 500; ++i) lines += "line " + std::to_string(i) + std::string(90, '.') + "\n";  // < a pipe
  auto client = child::spawn({ANYSOCK_BINARY, "send", client_uri(14), "-", "--timeout", "60"}, lines, true);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(client.read_line(120s)) << client.wait(5s).err;
  auto dc = run({"hcitool", "-i", hci0, "dc", addr1}, 60s);
  EXPECT_EQ(dc.exit_code, 0) << dc.out << dc.err;
  auto r = client.wait(120s);
  // Usually the client's kernel hears of the drop (exit 3, or 1 when its
  // last echo came back short). Once in CI (asan, 2026-11-25) the client's
  // controller was never told by the emulator, which has no supervision
  // timeout: the client then waits out --timeout and says so (exit 4).
  const bool timed_out = r.exit_code == 4 && r.err.find("no echo from") != std::string::npos;
  EXPECT_TRUE(r.exit_code == 3 || r.exit_code == 1 || timed_out) << r.exit_code << " " << r.err;
  EXPECT_EQ(line_count(r.err), 1u) << r.err;
  EXPECT_EQ(r.err.rfind("anysock: ", 0), 0u) << r.err;
  std::printf("client after the drop: exit %d: %s", r.exit_code, r.err.c_str());
  auto logged = srv.wait_for("link from " + addr1 + " reset by peer", 60s);
  EXPECT_TRUE(logged) << srv.joined();
  forget_keys();
  auto again = run_anysock({"send", client_uri(14), "--timeout", "60"}, 180s);
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out, "Hello, world\n汉语/漢語 Hànyǔ\n");
}

// Powering the client's controller off is not seen by the server's at all
// (the emulator has no supervision timeout): only --idle-timeout reaps that
// link. Restores both controllers for the tests after it, and shows the
// same server serving again.
TEST_F(RfcommLink, DeadLinkReapedByIdleTimeoutAndAdapterDownErrors) {
  auto srv = logged_server::start({"--idle-timeout", "5", "rfcomm://" + hci0 + ":15"});
  ASSERT_EQ(srv.bound.size(), 1u) << srv.joined();
  auto client = child::spawn({ANYSOCK_BINARY, "send", client_uri(15), "-", "--timeout", "60"}, "still here\n", true);
  ASSERT_EQ(client.read_line(120s).value_or("<nothing>"), "still here") << client.wait(5s).err;
  ASSERT_TRUE(srv.wait_for("link from " + addr1, 30s)) << srv.joined();

  auto down = run({"hciconfig", hci1, "down"}, 60s);
  ASSERT_EQ(down.exit_code, 0) << down.err;
  auto serve_down = run_anysock({"serve", "rfcomm://" + hci1 + ":16"}, 60s);
  EXPECT_EQ(serve_down.exit_code, 2) << serve_down.err;
  EXPECT_NE(serve_down.err.find("Bluetooth adapter " + hci1 + " (" + addr1 + ") is down; bring it up"),
            std::string::npos)
      << serve_down.err;
  auto send_down = run_anysock({"send", client_uri(15)}, 60s);
  EXPECT_EQ(send_down.exit_code, 2) << send_down.err;
  EXPECT_NE(send_down.err.find("is down"), std::string::npos) << send_down.err;

  EXPECT_TRUE(srv.wait_for("closing link from " + addr1 + ": idle for more than 5000 ms", 90s)) << srv.joined();
  EXPECT_TRUE(srv.wait_for("(0 open)", 30s)) << srv.joined();
  client.signal(SIGTERM);
  client.wait(30s);

  // hci0 still holds the dead ACL link (the emulator never times it out,
  // and hcitool dc cannot drop a handle the emulator forgot), and would
  // turn away hci1's next page: power-cycle hci0 as well. The server's
  // listening socket is bound to hci0's address, not to a link, and
  // outlives that.
  ASSERT_EQ(run({"hciconfig", hci0, "down"}, 60s).exit_code, 0);
  ASSERT_TRUE(restore_controller(hci0)) << run({"hciconfig", hci0}, 30s).out;
  ASSERT_TRUE(restore_controller(hci1)) << run({"hciconfig", hci1}, 30s).out;
  forget_keys();
  process_result again;
  for (int attempt = 0; attempt < 3; ++attempt) {
    again = run_anysock({"send", client_uri(15), "--timeout", "60"}, 180s);
    if (again.exit_code == 0) break;
    std::printf("after power-on, attempt %d: %s", attempt + 1, again.err.c_str());
  }
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out, "Hello, world\n汉语/漢語 Hànyǔ\n");
}

}  // namespace
