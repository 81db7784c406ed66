// anysock bench as CI's smoke run: a few hundred verified round trips, and
// the exit codes that make it usable in scripts.
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <thread>

#include "serve_process.hpp"

using namespace anysock::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using asio::ip::tcp;

TEST(Bench, CountedRunAgainstServeIsVerified) {
  auto srv = serve_process::start({"tcp://[::1]:0", "--log-level", "warn"});
  auto r = run_anysock({"bench", srv.bound[0], "-c", "4", "-p", "2", "-n", "400", "-w", "0", "--json"}, 120s);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_GE(std::stoull(json_field(r.out, "round_trips")), 400u) << r.out;
  EXPECT_EQ(json_field(r.out, "mismatches"), "0");
  EXPECT_EQ(json_field(r.out, "errors"), "0");
  EXPECT_EQ(json_field(r.out, "connected"), "4");
  EXPECT_GT(std::stoull(json_field(r.out, "p99")), 0u);
}

TEST(Bench, LargeMessagesAndHumanSummary) {
  auto srv = serve_process::start({"tcp://[::1]:0", "--log-level", "warn"});
  auto r = run_anysock({"bench", srv.bound[0], "-c", "2", "-s", "1048576", "-n", "20", "-w", "0"}, 120s);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("2 of 2 links connected"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("mismatches 0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("p99.9"), std::string::npos) << r.out;
}

TEST(Bench, IdleHoldKeepsLinksOpen) {
  auto srv = serve_process::start({"tcp://[::1]:0", "--log-level", "warn"});
  auto r = run_anysock({"bench", srv.bound[0], "-c", "200", "--hold", "0.5", "--json"}, 120s);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_EQ(json_field(r.out, "connected"), "200");
}

TEST(Bench, CorruptingServerIsAMismatchAndExit1) {
  asio::io_context io;
  tcp::acceptor liar(io, tcp::endpoint(asio::ip::make_address("::1"), 0));
  std::thread peer([&] {
    auto s = liar.accept();
    char buf[64];
    boost::system::error_code ec;
    auto n = asio::read(s, asio::buffer(buf), ec);
    buf[40] ^= 1;
    asio::write(s, asio::buffer(buf, n), ec);
    s.read_some(asio::buffer(buf), ec);  // until the client leaves
  });
  auto r = run_anysock({"bench", "tcp://[::1]:" + std::to_string(liar.local_endpoint().port()), "-d", "1",
                        "-w", "0", "--json"},
                       60s);
  peer.join();
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(json_field(r.out, "mismatches"), "1") << r.out;
  EXPECT_NE(r.err.find("differs"), std::string::npos) << r.err;
}

TEST(Bench, NothingListeningIsExit3AndBadSizeIsExit2) {
  auto r = run_anysock({"bench", "tcp://[::1]:1", "-c", "3", "-d", "1", "--json"}, 60s);
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(json_field(r.out, "connect_failures"), "3") << r.out;
  EXPECT_EQ(run_anysock({"bench", "tcp://[::1]:1", "-s", "4"}).exit_code, 2);
  EXPECT_EQ(run_anysock({"bench", "tcp://[::1"}).exit_code, 2);
}

// A run whose every link has ended has nothing left to measure: it stops
// then, with the error, instead of idling out its --duration.
TEST(Bench, RunEndsWhenEveryLinkHasFailed) {
  asio::io_context io;
  tcp::acceptor closer(io, tcp::endpoint(asio::ip::make_address("::1"), 0));
  std::thread peer([&] {
    for (int i = 0; i < 2; ++i) closer.accept().close();
  });
  auto r = run_anysock({"bench", "tcp://[::1]:" + std::to_string(closer.local_endpoint().port()), "-c", "2",
                        "-d", "600", "-w", "0", "--json"},
                       120s);
  peer.join();
  EXPECT_EQ(r.exit_code, 1) << r.err << r.out;
  EXPECT_EQ(json_field(r.out, "errors"), "2") << r.out;
  EXPECT_LT(std::stod(json_field(r.out, "seconds")), 600.0) << r.out;
}
