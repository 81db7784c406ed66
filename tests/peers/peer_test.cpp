// Real peers nobody here wrote, against our server and our client: the
// seed's Python client, socat and OpenBSD nc.
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <thread>

#include "serve_process.hpp"

using namespace anysock::test;
using namespace std::chrono_literals;

namespace {

// A port free right now on [::1] (for peers that cannot print theirs).
std::uint16_t free_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("::1"), 0});
  return a.local_endpoint().port();
}

void require(const std::string& program) {
  ASSERT_TRUE(have_program(program)) << program
                                     << " is not installed; run scripts/install-deps.sh (Debian package list)";
}

const std::string seed_text = "Hello, world\n汉语/漢語 Hànyǔ\n";

}  // namespace

TEST(Peers, SeedPythonClientAgainstServe) {
  require("/usr/bin/python3");
  auto srv = serve_process::start({"tcp://[::]:0"});
  for (const char* host : {"::1", "127.0.0.1", "localhost"}) {
    auto r = run({"/usr/bin/python3", ANYSOCK_SOURCE_DIR "/tests/peers/seed_client.py", host,
                  std::to_string(srv.port())},
                 30s);
    EXPECT_EQ(r.exit_code, 0) << host << ": " << r.err;
    EXPECT_EQ(r.out, "Received Hello, world\nReceived 汉语/漢語 Hànyǔ\n") << host;
  }
}

TEST(Peers, SocatAgainstServe) {
  require("socat");
  auto srv = serve_process::start({"tcp://[::1]:0"});
  auto r = run({"socat", "-t", "5", "-", "TCP6:[::1]:" + std::to_string(srv.port())}, 30s, seed_text);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, seed_text);
}

TEST(Peers, NetcatAgainstServe) {
  require("nc");
  auto srv = serve_process::start({"tcp://[::]:0"});
  // -N: shut down the write side at end of input, then read the echo to EOF.
  auto r6 = run({"nc", "-6", "-N", "::1", std::to_string(srv.port())}, 30s, seed_text);
  EXPECT_EQ(r6.exit_code, 0) << r6.err;
  EXPECT_EQ(r6.out, seed_text);
  auto r4 = run({"nc", "-4", "-N", "127.0.0.1", std::to_string(srv.port())}, 30s, seed_text);
  EXPECT_EQ(r4.exit_code, 0) << r4.err;
  EXPECT_EQ(r4.out, seed_text);
}

TEST(Peers, SendAgainstSocatEchoServer) {
  require("socat");
  auto port = free_port();
  auto socat = child::spawn({"socat", "TCP6-LISTEN:" + std::to_string(port) + ",bind=[::1],reuseaddr,fork",
                             "EXEC:cat"});
  // socat prints nothing when ready: retry the connect for a bounded while.
  process_result r;
  for (int i = 0; i < 50; ++i) {
    r = run_anysock({"send", "tcp://[::1]:" + std::to_string(port), "--timeout", "5"});
    if (r.exit_code != 3) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, seed_text);
  std::string big(100000, 'z');  // one argv string may hold at most 128 KiB
  auto b = run_anysock({"send", "tcp://[::1]:" + std::to_string(port), big, "-q"});
  EXPECT_EQ(b.exit_code, 0) << b.err;
}
