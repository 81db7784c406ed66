// The anysock program as a user runs it: exit codes, one-line errors,
// signals, and memory under a client that never reads.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <atomic>
#include <thread>

#include "serve_process.hpp"

using namespace anysock::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

std::string v6(std::uint16_t port) { return "tcp://[::1]:" + std::to_string(port); }

}  // namespace

TEST(Cli, SendTheSeedMessagesToServe) {
  auto srv = serve_process::start({"tcp://[::1]:0"});
  auto r = run_anysock({"send", srv.bound[0]});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Hello, world\n汉语/漢語 Hànyǔ\n");
}

TEST(Cli, SendLinesFromStdin) {
  auto srv = serve_process::start({"tcp://[::1]:0"});
  auto r = run_anysock({"send", srv.bound[0], "-"}, 30s, "one\ntwo words\n\nthree\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "one\ntwo words\n\nthree\n");
}

TEST(Cli, ServePrintsTheRealPortForPortZeroAndServesEveryUri) {
  auto srv = serve_process::start({"tcp://[::1]:0", "tcp://127.0.0.1:0"}, 2);
  ASSERT_EQ(srv.bound.size(), 2u);
  EXPECT_EQ(srv.bound[0].rfind("tcp://[::1]:", 0), 0u);
  EXPECT_NE(srv.port(0), 0);
  EXPECT_EQ(run_anysock({"send", srv.bound[0]}).exit_code, 0);
  EXPECT_EQ(run_anysock({"send", srv.bound[1]}).exit_code, 0);
}

TEST(Cli, PortInUseIsOneLineAndExit3) {
  auto first = serve_process::start({"tcp://[::1]:0"});
  auto r = run_anysock({"serve", first.bound[0]}, 20s);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("already in use"), std::string::npos) << r.err;
  EXPECT_EQ(line_count(r.err), 1u) << r.err;
  EXPECT_EQ(r.out, "") << "nothing claims to listen";
}

TEST(Cli, BadUrisAreOneLineAndExit2) {
  for (const char* bad : {"tcp://[::1]", "tcp://[::1]:70000", "tcp://[::1", "udp://[::1]:7", "tcp://:7",
                          "tcp://[::1]:7?v6only=perhaps", "not a uri"}) {
    for (const char* cmd : {"serve", "send"}) {
      auto r = run_anysock({cmd, bad}, 20s);
      EXPECT_EQ(r.exit_code, 2) << cmd << " " << bad << ": " << r.err;
      EXPECT_EQ(line_count(r.err), 1u) << r.err;
      EXPECT_NE(r.err.find("anysock: "), std::string::npos) << r.err;
    }
  }
}

TEST(Cli, BadOptionsAreExit2) {
  EXPECT_EQ(run_anysock({"serve", "--threads", "0"}).exit_code, 2);
  EXPECT_EQ(run_anysock({"serve", "--busy-poll", "-1"}).exit_code, 2);
  EXPECT_EQ(run_anysock({"serve", "--busy-poll", "2000000"}).exit_code, 2);
  EXPECT_EQ(run_anysock({"send", v6(1), "--timeout", "-1"}).exit_code, 2);
  EXPECT_EQ(run_anysock({"send"}).exit_code, 2);
  EXPECT_EQ(run_anysock({"frobnicate"}).exit_code, 2);
  auto r = run_anysock({"send", v6(1), "--log-level", "loud"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("loud"), std::string::npos);
}

TEST(Cli, RefusedConnectionIsOneLineAndExit3) {
  asio::io_context io;
  tcp::acceptor probe(io, tcp::endpoint(asio::ip::make_address("::1"), 0));
  auto port = probe.local_endpoint().port();
  probe.close();  // a port nothing listens on
  auto r = run_anysock({"send", v6(port)});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("refused"), std::string::npos) << r.err;
  EXPECT_EQ(line_count(r.err), 1u) << r.err;
}

TEST(Cli, SilentPeerTimesOutWithExit4) {
  asio::io_context io;
  tcp::acceptor quiet(io, tcp::endpoint(asio::ip::make_address("::1"), 0));  // accepts, never answers
  auto r = run_anysock({"send", v6(quiet.local_endpoint().port()), "--timeout", "0.5"});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_NE(r.err.find("no echo"), std::string::npos) << r.err;
  EXPECT_EQ(line_count(r.err), 1u) << r.err;
}

TEST(Cli, WrongEchoIsExit1) {
  asio::io_context io;
  tcp::acceptor liar(io, tcp::endpoint(asio::ip::make_address("::1"), 0));
  std::thread peer([&] {
    auto s = liar.accept();
    char buf[64];
    auto n = s.read_some(asio::buffer(buf));
    buf[n / 2] ^= 0x20;  // flips one bit in the middle
    asio::write(s, asio::buffer(buf, n));
    boost::system::error_code ec;
    s.read_some(asio::buffer(buf), ec);  // until the client leaves
  });
  auto r = run_anysock({"send", v6(liar.local_endpoint().port()), "abcdef"});
  peer.join();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("differs at byte 3"), std::string::npos) << r.err;
}

TEST(Cli, PeerClosingEarlyIsExit1) {
  asio::io_context io;
  tcp::acceptor rude(io, tcp::endpoint(asio::ip::make_address("::1"), 0));
  std::thread peer([&] {
    auto s = rude.accept();
    char buf[4];
    asio::read(s, asio::buffer(buf));
    asio::write(s, asio::buffer(buf, 2));  // half an echo, then gone
  });
  auto r = run_anysock({"send", v6(rude.local_endpoint().port()), "abcd"});
  peer.join();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("peer closed"), std::string::npos) << r.err;
}

TEST(Cli, HelpListsEverySchemeWithAnExample) {
  auto r = run_anysock({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("tcp://[::]:50007"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Exit codes"), std::string::npos);
  auto v = run_anysock({"--version"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_EQ(v.out.rfind("anysock ", 0), 0u);
}

TEST(Cli, SigtermDuringLoadDrainsAndExitsZero) {
  auto srv = serve_process::start({"tcp://[::1]:0", "--threads", "2", "--drain-timeout", "10"});
  // Clients under load: each keeps echoing 16 KiB messages and checks every
  // byte, until the server closes the link.
  // Every client connects before any load starts: a thread that started
  // late would otherwise meet a server that had already stopped accepting.
  std::atomic<int> rounds{0}, mismatches{0};
  asio::io_context io;
  std::vector<tcp::socket> sockets;
  for (int c = 0; c < 8; ++c) {
    sockets.emplace_back(io);
    sockets.back().connect(tcp::endpoint(asio::ip::make_address("::1"), srv.port()));
  }
  std::vector<std::thread> load;
  for (int c = 0; c < 8; ++c)
    load.emplace_back([&, c] {
      tcp::socket& s = sockets[static_cast<std::size_t>(c)];
      std::string msg(16 * 1024, static_cast<char>('a' + c)), got(msg.size(), '\0');
      for (int i = 0; i < 100000; ++i) {
        boost::system::error_code ec;
        asio::write(s, asio::buffer(msg), ec);
        if (ec) return;
        std::size_t n = asio::read(s, asio::buffer(got), ec);
        if (got.compare(0, n, msg, 0, n) != 0) mismatches++;
        if (ec) return;
        rounds++;
      }
    });
  for (int i = 0; i < 500 && rounds < 100; ++i) std::this_thread::sleep_for(10ms);
  srv.proc.signal(SIGTERM);
  auto r = srv.proc.wait(30s);
  for (auto& t : load) t.join();
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GE(rounds.load(), 100) << "the load was running when the signal came";
  EXPECT_EQ(mismatches.load(), 0) << "no echo was cut or garbled by the shutdown";
  EXPECT_NE(r.err.find("SIGTERM received"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("stopped"), std::string::npos) << r.err;
}

// --busy-poll changes how a thread waits, nothing else: every echo comes
// back, on every thread, and a signal still stops it.
TEST(Cli, BusyPollingServeEchoesAndStopsOnSigterm) {
  auto srv = serve_process::start({"tcp://[::1]:0", "--threads", "2", "--busy-poll", "200"});
  for (int i = 0; i < 4; ++i) {
    auto r = run_anysock({"send", srv.bound[0]});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "Hello, world\n汉语/漢語 Hànyǔ\n");
  }
  auto b = run_anysock({"bench", srv.bound[0], "-c", "4", "-p", "2", "-n", "2000", "--json"}, 60s);
  EXPECT_EQ(b.exit_code, 0) << b.err;
  EXPECT_EQ(json_field(b.out, "round_trips"), "2000") << b.out;
  EXPECT_EQ(json_field(b.out, "mismatches"), "0") << b.out;
  EXPECT_EQ(json_field(b.out, "errors"), "0") << b.out;
  srv.proc.signal(SIGTERM);
  auto r = srv.proc.wait(30s);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(Cli, SigtermWithEchoesInFlightLetsThemFinish) {
  auto srv = serve_process::start({"tcp://[::1]:0", "--drain-timeout", "20"});
  // The client writes 8 MiB and reads nothing yet: the server's echo write
  // stalls (in flight) once the socket buffers are full. Then SIGTERM.
  asio::io_context io;
  tcp::socket s(io);
  s.connect(tcp::endpoint(asio::ip::make_address("::1"), srv.port()));
  std::string big(8 << 20, 'd');
  std::thread writer([&] {
    boost::system::error_code ec;
    asio::write(s, asio::buffer(big), ec);
  });
  std::this_thread::sleep_for(1s);
  srv.proc.signal(SIGTERM);
  std::this_thread::sleep_for(300ms);
  // Now read: the echo that was in flight arrives whole, then the link closes.
  std::string got(64 * 1024, '\0');
  std::size_t total = 0;
  bool intact = true;
  boost::system::error_code ec;
  while (!ec && total < big.size()) {
    auto n = s.read_some(asio::buffer(got), ec);
    intact = intact && got.find_first_not_of('d') >= n;
    total += n;
  }
  s.close();
  writer.join();
  auto r = srv.proc.wait(30s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GE(total, 64u * 1024) << "the stalled echo was delivered before the link closed";
  EXPECT_TRUE(intact);
  EXPECT_NE(r.err.find("closed for shutdown"), std::string::npos) << r.err;
}

TEST(Cli, MemoryStaysBoundedUnderAClientThatNeverReads) {
  auto srv = serve_process::start({"tcp://[::1]:0"});
  std::this_thread::sleep_for(200ms);
  long before = srv.proc.rss_kib();
  asio::io_context io;
  std::vector<tcp::socket> hogs;
  std::string chunk(256 * 1024, 'm');
  for (int h = 0; h < 8; ++h) {
    tcp::socket s(io);
    s.connect(tcp::endpoint(asio::ip::make_address("::1"), srv.port()));
    s.non_blocking(true);
    int stalls = 0;
    for (int i = 0; i < 4096 && stalls < 20; ++i) {  // at most 1 GiB offered per hog
      boost::system::error_code ec;
      s.write_some(asio::buffer(chunk), ec);
      if (ec == asio::error::would_block) {
        ++stalls;
        std::this_thread::sleep_for(10ms);
      } else if (ec) {
        break;
      } else {
        stalls = 0;
      }
    }
    hogs.push_back(std::move(s));
  }
  long after = srv.proc.rss_kib();
  ASSERT_GT(before, 0);
  EXPECT_LT(after - before, 8 * 1024) << "RSS grew from " << before << " KiB to " << after << " KiB";
  auto r = run_anysock({"send", srv.bound[0]});
  EXPECT_EQ(r.exit_code, 0) << "other clients are still served: " << r.err;
}
