// What a real bus does to a responder, on vcans of the tests' own: the
// interface going down and up (every bitrate change), being removed, and a
// transmit queue that fills (a bus slower than its senders).
#include <string>
#include <thread>
#include <vector>

#include "kernel_env.hpp"
#include "serve_process.hpp"

using namespace std::chrono_literals;
using namespace anysock::test;

namespace {

// A vcan of a test's own, for a test that changes its interface; removed
// at the end of the test.
struct private_vcan {
  explicit private_vcan(std::string n) : name(std::move(n)) {
    auto added = run({"ip", "link", "add", "dev", name, "type", "vcan"}, 30s);
    EXPECT_EQ(added.exit_code, 0) << "ip link add (needs root and the vcan module): " << added.err;
    up = added.exit_code == 0 && run({"ip", "link", "set", "up", name}, 30s).exit_code == 0;
  }
  ~private_vcan() { run({"ip", "link", "del", "dev", name}, 30s); }
  std::string name;
  bool up = false;
};

// Under the harness (root, can modules), like every kernel case.
class CanBus : public kernel_test {
 protected:
  void SetUp() override { require({"ANYSOCK_CAN_IF0"}); }
};

// Every bitrate change on a real controller takes its interface down and up
// again. The kernel tells the responder's socket once (ENETDOWN); the
// responder must say so and answer again once the interface is back: raw
// CAN with one thread and with two (the link then waits through Asio's
// receive), and ISO-TP.
TEST_F(CanBus, ResponderAnswersAgainAfterTheInterfaceWentDownAndUp) {
  private_vcan bus("anysockd0");
  ASSERT_TRUE(bus.up);
  const std::string raw = "can://" + bus.name + "?rx=123&tx=456";
  struct setup {
    std::vector<std::string> serve;
    std::string client, message, echo;
  };
  const std::vector<setup> setups{
      {{raw, "--threads", "1"}, raw, "123#22", "  " + bus.name + "  456   [1]  22\n"},
      {{raw, "--threads", "2"}, raw, "123#22", "  " + bus.name + "  456   [1]  22\n"},
      {{"isotp://" + bus.name + "?rx=7E0&tx=7E8"}, "isotp://" + bus.name + "?rx=7E8&tx=7E0", "after", "after\n"}};
  for (const auto& c : setups) {
    SCOPED_TRACE(c.serve.front() + (c.serve.size() > 1 ? " " + c.serve.back() + " threads" : ""));
    auto srv = serve_process::start(c.serve);
    auto before = run_anysock({"send", c.client, c.message}, 120s);
    EXPECT_EQ(before.exit_code, 0) << before.err;
    ASSERT_EQ(run({"ip", "link", "set", "down", bus.name}, 30s).exit_code, 0);
    ASSERT_EQ(run({"ip", "link", "set", "up", bus.name}, 30s).exit_code, 0);
    auto after = run_anysock({"send", c.client, c.message}, 120s);
    EXPECT_EQ(after.exit_code, 0) << after.err;
    EXPECT_EQ(after.out, c.echo);
    auto r = srv.stop();
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("went down"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("up again"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("closed:"), std::string::npos) << "the link must outlive the interface's down: " << r.err;
  }
}

// A tester's broken ISO-TP transfer is the peer's problem, not the end of
// the service: the kernel reports it on the responder's socket once
// (EILSEQ for a consecutive frame out of sequence, ETIMEDOUT for one that
// never comes); the responder logs it and answers the next message.
TEST_F(CanBus, IsotpResponderOutlivesBrokenTransfers) {
  private_vcan bus("anysocki0");
  ASSERT_TRUE(bus.up);
  auto srv = serve_process::start({"isotp://" + bus.name + "?rx=7E0&tx=7E8"});
  // A first frame announcing 20 bytes, then consecutive frame 5 where 1 is due.
  ASSERT_EQ(run({"cansend", bus.name, "7E0#1014010203040506"}, 30s).exit_code, 0);
  ASSERT_EQ(run({"cansend", bus.name, "7E0#2507080910111213"}, 30s).exit_code, 0);
  // A first frame and nothing after it: the kernel gives up after 1 s.
  ASSERT_EQ(run({"cansend", bus.name, "7E0#1014010203040506"}, 30s).exit_code, 0);
  std::this_thread::sleep_for(3s);
  auto r = run_anysock({"send", "isotp://" + bus.name + "?rx=7E8&tx=7E0", "still here"}, 120s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "still here\n");
  auto s = srv.stop();
  EXPECT_EQ(s.exit_code, 0) << s.err;
  EXPECT_NE(s.err.find("out of sequence"), std::string::npos) << s.err;
  EXPECT_NE(s.err.find("never came"), std::string::npos) << s.err;
}

// A bus link is the service on that bus, not a peer's visit: --idle-timeout
// never closes it. When its interface is removed nothing can be served
// there again, so serve stops: exit 3 and one line that says why.
TEST_F(CanBus, BusLinkOutlivesIdleTimeoutAndServeStopsWhenItsInterfaceIsRemoved) {
  private_vcan bus("anysockr0");
  ASSERT_TRUE(bus.up);
  const std::string uri = "can://" + bus.name + "?rx=123&tx=456";
  auto srv = serve_process::start({uri, "--idle-timeout", "0.5"});
  std::this_thread::sleep_for(2s);  // idle for four timeouts
  auto r = run_anysock({"send", uri, "123#11"}, 120s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(run({"ip", "link", "del", "dev", bus.name}, 30s).exit_code, 0);
  auto s = srv.proc.wait(120s);
  EXPECT_EQ(s.exit_code, 3) << s.err;
  EXPECT_NE(s.err.find("anysock: " + uri + ": its link to can bus " + bus.name + " ended (No such device)"),
            std::string::npos)
      << s.err;
}

// A bus slower than its senders: the interface's transmit queue fills and
// send() fails with ENOBUFS (real controllers do whenever the bus cannot
// keep up; vcan has no queue of its own, so a token-bucket qdisc stands in
// for the slow bus). Both ends must wait for room rather than end their
// link: every request answered and verified, none lost, no error.
TEST_F(CanBus, FullTransmitQueueSlowsTheEchoButLosesNothing) {
  const std::string ifc = "anysockq0";
  private_vcan bus(ifc);
  ASSERT_TRUE(bus.up);
  // 100 kbit/s of 16-byte frames: ~780 a second, at most 4 queued.
  auto tbf = run({"tc", "qdisc", "add", "dev", ifc, "root", "tbf", "rate", "100kbit", "burst", "64", "limit", "64"},
                 30s);
  ASSERT_EQ(tbf.exit_code, 0) << "tc qdisc add tbf (iproute2, sch_tbf): " << tbf.err;

  const std::string uri = "can://" + ifc + "?rx=123&tx=456";
  auto srv = serve_process::start({uri, "--log-level", "warn"});
  auto r = run_anysock({"bench", uri, "-s", "8", "-p", "32", "-n", "500", "-w", "0", "--json"}, 300s);
  EXPECT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_GE(std::stoull("0" + json_field(r.out, "round_trips")), 500u) << r.out;
  EXPECT_EQ(json_field(r.out, "mismatches"), "0");
  EXPECT_EQ(json_field(r.out, "errors"), "0");
  EXPECT_EQ(json_field(r.out, "lost"), "0");

  // The queue really was full: each frame the qdisc dropped was an ENOBUFS.
  auto stats = run({"tc", "-s", "qdisc", "show", "dev", ifc}, 30s);
  auto at = stats.out.find("dropped ");
  ASSERT_NE(at, std::string::npos) << stats.out;
  EXPECT_GT(std::stoull(stats.out.substr(at + 8)), 0u) << stats.out;
}

}  // namespace
