// The socketcand:// client transport on a real kernel, against our own
// server (`anysock socketcand`): `send` and `bench` to a responder on the
// bus, `serve` as the responder on the remote bus (answering can-utils'
// cansend), and `bridge` mirroring the remote bus onto a local vcan both
// ways, through a server restart. The witnesses are can-utils.
#include <signal.h>

#include <string>
#include <thread>
#include <vector>

#include "bridge_support.hpp"
#include "kernel_env.hpp"
#include "serve_process.hpp"
#include "socketcand_support.hpp"

using namespace std::chrono_literals;
using namespace anysock::test;

namespace {

class SocketcandClient : public can_buses_test {};

std::string remote(std::uint16_t port, const std::string& bus, const std::string& query = "") {
  return "socketcand://127.0.0.1:" + std::to_string(port) + "/" + bus + (query.empty() ? "" : "?" + query);
}

// `send` prints the reply as candump does; `bench` keeps 1 and 32 frames in
// flight through the server and loses or garbles none.
TEST_F(SocketcandClient, SendAndBenchReachAResponderOnTheBus) {
  auto srv = socketcand_process::start({can0, "--listen", "127.0.0.1:0"});
  ASSERT_NE(srv.port, 0);
  auto resp = serve_process::start({"can://" + can0 + "?rx=123&tx=456", "--log-level", "warn"});
  const std::string url = remote(srv.port, can0, "rx=123&tx=456");

  auto s = run_anysock({"send", url, "123#DEADBEEF"}, 120s);
  EXPECT_EQ(s.exit_code, 0) << s.out << s.err << srv.joined();
  EXPECT_NE(s.out.find(can0 + "  456   [4]  DE AD BE EF"), std::string::npos) << s.out;

  for (const char* window : {"1", "32"}) {
    auto b = run_anysock({"bench", url, "-s", "8", "-p", window, "-n", "1000", "-w", "0", "--json"}, 300s);
    EXPECT_EQ(b.exit_code, 0) << window << " in flight: " << b.err << b.out;
    EXPECT_GE(std::stoull("0" + json_field(b.out, "round_trips")), 1000u) << b.out;
    EXPECT_EQ(json_field(b.out, "mismatches"), "0") << b.out;
    EXPECT_EQ(json_field(b.out, "lost"), "0") << b.out;
  }
  EXPECT_EQ(resp.stop().exit_code, 0);
  auto end = srv.stop();
  EXPECT_EQ(end.exit_code, 0) << end.out;
}

// fd=1 through a server run with --fd: a 12-byte FD request reaches the
// responder on a CAN FD bus and its FD reply comes back whole.
TEST_F(SocketcandClient, FdFramesBothWaysWithFdOne) {
  auto srv = socketcand_process::start({canfd, "--fd", "--listen", "127.0.0.1:0"});
  ASSERT_NE(srv.port, 0);
  auto resp = serve_process::start({"can://" + canfd + "?rx=123&tx=456&fd=1", "--log-level", "warn"});
  auto s = run_anysock({"send", remote(srv.port, canfd, "rx=123&tx=456&fd=1"), "123##1000102030405060708090A0B"},
                       120s);
  EXPECT_EQ(s.exit_code, 0) << s.out << s.err << srv.joined();
  EXPECT_NE(s.out.find(canfd + "  456  [12]  00 01 02 03 04 05 06 07 08 09 0A 0B"), std::string::npos) << s.out;
  EXPECT_EQ(resp.stop().exit_code, 0);
  auto end = srv.stop();
  EXPECT_EQ(end.exit_code, 0) << end.out;
}

// `serve socketcand://...` is the storm-proof responder on the remote bus:
// it answers cansend's requests there once each, on its tx= ID, and a local
// can:// client on that bus gets its reply.
TEST_F(SocketcandClient, ServeAnswersRequestsOnTheRemoteBus) {
  auto srv = socketcand_process::start({can0, "--listen", "127.0.0.1:0"});
  ASSERT_NE(srv.port, 0);
  auto dump = bus_dump::start(can0);
  auto resp = serve_process::start({remote(srv.port, can0, "rx=321&tx=654"), "--log-level", "warn"});
  ASSERT_EQ(resp.bound.size(), 1u);

  constexpr std::size_t n = 50;
  ASSERT_TRUE(run_pumping({"cangen", can0, "-n", std::to_string(n), "-g", "5", "-I", "321", "-L", "4", "-D", "i"},
                          {&dump}));
  EXPECT_TRUE(dump.read_until([&](auto&) { return dump.count(with_id("654")) >= n; }, 120s))
      << dump.count(with_id("654")) << " of " << n << " replies: " << dump.listing();
  auto c = run_anysock({"send", "can://" + can0 + "?rx=321&tx=654", "321#CAFE"}, 120s);
  EXPECT_EQ(c.exit_code, 0) << c.out << c.err;
  EXPECT_NE(c.out.find("654   [2]  CA FE"), std::string::npos) << c.out;
  std::this_thread::sleep_for(1s);  // a second answer would be on the bus by now
  dump.drain();
  dump.stop();
  auto requests = dump.matching(with_id("321")), replies = dump.matching(with_id("654"));
  ASSERT_EQ(replies.size(), requests.size()) << dump.listing();
  for (std::size_t i = 0; i < requests.size(); ++i) EXPECT_EQ(replies[i].data, requests[i].data) << i;
  EXPECT_EQ(resp.stop().exit_code, 0);
  EXPECT_EQ(srv.stop().exit_code, 0);
}

// A remote bus mirrored onto a local vcan: cangen's frames cross each way
// once, in order, with their IDs and data, and none comes back; when the
// server restarts, the bridge reconnects and frames cross again.
TEST_F(SocketcandClient, BridgeMirrorsTheRemoteBusBothWaysAndReconnects) {
  private_vcan mirror("ascmirror0");
  ASSERT_TRUE(mirror.up);
  auto srv = socketcand_process::start({can0, "--listen", "127.0.0.1:0"});
  ASSERT_NE(srv.port, 0);
  const std::uint16_t port = srv.port;
  auto d0 = bus_dump::start(can0);
  auto dm = bus_dump::start(mirror.name);
  auto br = bridge_process::start({"can://" + mirror.name, remote(port, can0)});
  ASSERT_TRUE(br.started);
  ASSERT_TRUE(br.wait_for("bridging ", 60s)) << br.joined();
  ASSERT_TRUE(wait_crossing(can0, "7F0#" + std::string(probe_data), dm, "7F0"));
  ASSERT_TRUE(wait_crossing(mirror.name, "7F1#" + std::string(probe_data), d0, "7F1"));

  constexpr std::size_t n = 500;
  ASSERT_TRUE(run_pumping({"cangen", can0, "-n", std::to_string(n), "-g", "1", "-I", "123", "-L", "8", "-D", "i"},
                          {&d0, &dm}));
  EXPECT_TRUE(dm.read_until([&](auto&) { return dm.count(with_id("123")) >= n; }, 120s))
      << dm.count(with_id("123")) << " of " << n << " frames crossed to " << mirror.name;
  ASSERT_TRUE(run_pumping(
      {"cangen", mirror.name, "-n", std::to_string(n), "-g", "1", "-e", "-I", "18DAF110", "-L", "8", "-D", "i"},
      {&d0, &dm}));
  EXPECT_TRUE(d0.read_until([&](auto&) { return d0.count(with_id("18DAF110")) >= n; }, 120s))
      << d0.count(with_id("18DAF110")) << " of " << n << " frames crossed to " << can0;
  std::this_thread::sleep_for(1s);
  d0.drain();
  dm.drain();
  auto sent0 = d0.matching(with_id("123")), crossed = dm.matching(with_id("123"));
  EXPECT_EQ(sent0.size(), n) << "cangen's frames on " << can0 << ", and none came back";
  EXPECT_EQ(texts(crossed), texts(sent0)) << "every frame once, in order, same ID and data";
  auto sent1 = dm.matching(with_id("18DAF110")), back = d0.matching(with_id("18DAF110"));
  EXPECT_EQ(sent1.size(), n) << "cangen's frames on " << mirror.name << ", and none came back";
  EXPECT_EQ(texts(back), texts(sent1)) << "every frame once, in order, same ID and data";

  // The server goes away and comes back on the same port.
  EXPECT_EQ(srv.stop().exit_code, 0);
  ASSERT_TRUE(br.wait_for("reconnecting", 60s)) << br.joined();
  auto again = socketcand_process::start({can0, "--listen", "127.0.0.1:" + std::to_string(port)});
  ASSERT_EQ(again.port, port) << again.joined();
  EXPECT_TRUE(wait_crossing(can0, "7F2#" + std::string(probe_data), dm, "7F2")) << br.joined();
  EXPECT_TRUE(wait_crossing(mirror.name, "7F3#" + std::string(probe_data), d0, "7F3")) << br.joined();

  d0.stop();
  dm.stop();
  auto r = br.stop();
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(again.stop().exit_code, 0);
}

// What can go wrong before a frame moves is one line each, with an exit code
// that says whose doing it is: 3 for the far side, 2 for the command line.
TEST_F(SocketcandClient, ErrorsAreOneLineEach) {
  auto srv = socketcand_process::start({can0, "--listen", "127.0.0.1:0"});
  ASSERT_NE(srv.port, 0);
  struct bad_case {
    std::string url;
    int exit_code;
    std::string says;
  };
  const std::vector<bad_case> cases = {
      {remote(srv.port, "nosuchbus0", "rx=123&tx=456"), 3, "answered `< open nosuchbus0 >` with `< error"},
      {remote(1, can0, "rx=123&tx=456"), 3, "cannot connect"},
      {remote(srv.port, can0, "rx=123&tx=123"), 2, "answer each other forever"},
      {remote(srv.port, can0, "fd=1"), 2, "fd=1"},
      {"socketcand://127.0.0.1", 2, "name the server's bus"},
  };
  for (const auto& c : cases) {
    auto r = run_anysock({"send", c.url, "123#11"}, 120s);
    EXPECT_EQ(r.exit_code, c.exit_code) << c.url << ": " << r.err;
    EXPECT_EQ(line_count(r.err), 1u) << c.url << ": " << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << c.url << ": " << r.err;
  }
  EXPECT_EQ(srv.stop().exit_code, 0);
}

}  // namespace
