// The echo service over real loopback TCP sockets, IPv6 and IPv4-mapped,
// under the awkward clients a public echo service meets.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <atomic>
#include <poll.h>
#include <chrono>

#include "anysock/client.hpp"
#include "echo_fixture.hpp"

using namespace anysock;
using namespace anysock::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {
// What `anysock send` sends by default: ASCII, then UTF-8 beyond it.
const std::vector<std::string>& greeting() {
  static const std::vector<std::string> m{"Hello, world", "汉语/漢語 Hànyǔ"};
  return m;
}
}  // namespace

TEST(TcpEcho, SeedMessagesOverIpv6) {
  running_server srv({"tcp://[::1]:0"});
  asio::io_context io;
  auto s = connect_to(io, "::1", srv.port());
  for (const auto& m : greeting()) EXPECT_EQ(round_trip(s, m), m);
}

TEST(TcpEcho, DualStackTakesIpv4MappedPeers) {
  running_server srv({"tcp://[::]:0"});
  asio::io_context io;
  auto v4 = connect_to(io, "127.0.0.1", srv.port());
  auto v6 = connect_to(io, "::1", srv.port());
  for (const auto& m : greeting()) {
    EXPECT_EQ(round_trip(v4, m), m);
    EXPECT_EQ(round_trip(v6, m), m);
  }
}

TEST(TcpEcho, V6OnlyRefusesIpv4) {
  running_server srv({"tcp://[::]:0?v6only=1"});
  asio::io_context io;
  EXPECT_THROW(connect_to(io, "127.0.0.1", srv.port()), boost::system::system_error);
  auto v6 = connect_to(io, "::1", srv.port());
  EXPECT_EQ(round_trip(v6, "still here"), "still here");
}

TEST(TcpEcho, Ipv4Listener) {
  running_server srv({"tcp://127.0.0.1:0"});
  asio::io_context io;
  auto s = connect_to(io, "127.0.0.1", srv.port());
  EXPECT_EQ(round_trip(s, "v4"), "v4");
}

TEST(TcpEcho, LocalhostBindsEveryAddressOnOnePort) {
  running_server srv({"tcp://localhost:0"});
  ASSERT_GE(srv.get().listeners().size(), 1u);
  for (std::size_t i = 1; i < srv.get().listeners().size(); ++i) EXPECT_EQ(srv.port(i), srv.port(0));
  asio::io_context io;
  for (auto& l : srv.get().listeners()) {
    auto name = l->name();  // tcp://[::1]:p or tcp://127.0.0.1:p
    auto host = name.substr(6, name.rfind(':') - 6);
    if (host.front() == '[') host = host.substr(1, host.size() - 2);
    auto s = connect_to(io, host, srv.port());
    EXPECT_EQ(round_trip(s, "hi " + host), "hi " + host);
  }
}

TEST(TcpEcho, OneMebibyteInOneWrite) {
  running_server srv({"tcp://[::1]:0"});
  asio::io_context io;
  auto s = connect_to(io, "::1", srv.port());
  std::string big(1 << 20, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 131) ^ (i >> 9));
  // Write and read at once: the echo comes back while we are still writing.
  std::thread writer([&] { asio::write(s, asio::buffer(big)); });
  std::string got(big.size(), '\0');
  asio::read(s, asio::buffer(got));
  writer.join();
  EXPECT_TRUE(got == big) << "1 MiB came back altered";
}

TEST(TcpEcho, ThousandConcurrentClientsEachGetTheirOwnBytes) {
  raise_fd_limit();
  running_server srv({"tcp://[::1]:0"});
  constexpr int clients = 1000;
  asio::io_context io;
  std::atomic<int> verified{0}, failed{0};
  auto port = srv.port();
  for (int c = 0; c < clients; ++c) {
    asio::co_spawn(
        io,
        [&, c]() -> asio::awaitable<void> {
          ip::tcp::socket s(io);
          co_await s.async_connect(ip::tcp::endpoint(asio::ip::make_address("::1"), port), asio::use_awaitable);
          for (int round = 0; round < 3; ++round) {
            std::string msg = "client " + std::to_string(c) + " round " + std::to_string(round) + " " +
                              std::string(static_cast<std::size_t>(c % 97), static_cast<char>('a' + c % 26));
            co_await asio::async_write(s, asio::buffer(msg), asio::use_awaitable);
            std::string got(msg.size(), '\0');
            co_await asio::async_read(s, asio::buffer(got), asio::use_awaitable);
            if (got != msg) {
              failed++;
              co_return;
            }
          }
          verified++;
        },
        [&](std::exception_ptr e) {
          if (e) failed++;
        });
  }
  io.run_for(60s);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(verified.load(), clients);
}

TEST(TcpEcho, HalfCloseGetsEverythingBackThenEof) {
  running_server srv({"tcp://[::1]:0"});
  asio::io_context io;
  auto s = connect_to(io, "::1", srv.port());
  std::string msg(200000, 'h');
  asio::write(s, asio::buffer(msg));
  s.shutdown(ip::tcp::socket::shutdown_send);
  std::string got;
  boost::system::error_code ec;
  asio::read(s, asio::dynamic_buffer(got), ec);
  EXPECT_EQ(ec, asio::error::eof);
  EXPECT_EQ(got.size(), msg.size());
  EXPECT_TRUE(got == msg);
}

TEST(TcpEcho, ResetMidWriteLeavesServerServing) {
  running_server srv({"tcp://[::1]:0"});
  asio::io_context io;
  {
    auto s = connect_to(io, "::1", srv.port());
    s.non_blocking(true);
    std::string chunk(64 * 1024, 'r');
    boost::system::error_code ec;
    for (int i = 0; i < 200 && !ec; ++i) s.write_some(asio::buffer(chunk), ec);  // until the kernel pushes back
    s.set_option(asio::socket_base::linger(true, 0));  // close sends RST
    s.close();
  }
  auto ok = connect_to(io, "::1", srv.port());
  EXPECT_EQ(round_trip(ok, "after the reset"), "after the reset");
  for (int i = 0; i < 500 && srv.get().open_links() > 1; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(srv.get().open_links(), 1u) << "the reset link was dropped";
}

TEST(TcpEcho, ClientThatNeverReadsIsHeldBackAndOthersAreServed) {
  running_server srv({"tcp://[::1]:0"});
  asio::io_context io;
  auto hog = connect_to(io, "::1", srv.port());
  hog.non_blocking(true);
  std::string chunk(64 * 1024, 'x');
  std::size_t pushed = 0;
  const std::size_t offered = 256u << 20;  // far more than socket buffers hold
  auto deadline = std::chrono::steady_clock::now() + 20s;
  int stalls = 0;
  while (pushed < offered && std::chrono::steady_clock::now() < deadline && stalls < 50) {
    boost::system::error_code ec;
    auto n = hog.write_some(asio::buffer(chunk), ec);
    if (ec == asio::error::would_block) {
      ++stalls;  // the server stopped reading: give it time to prove it
      std::this_thread::sleep_for(10ms);
      continue;
    }
    ASSERT_FALSE(ec) << ec.message();
    stalls = 0;
    pushed += n;
  }
  // Without backpressure the server would read all 256 MiB into memory. With
  // it, only the kernel's socket buffers (a few MiB each way) are filled.
  EXPECT_LT(pushed, 64u << 20) << "server kept reading from a client that never reads";
  auto other = connect_to(io, "::1", srv.port());
  EXPECT_EQ(round_trip(other, "others still served"), "others still served");
}

TEST(TcpEcho, ConnectionLimitRefusesExtraLinks) {
  running_server srv({"tcp://[::1]:0"}, server_options{2, {}, 5000ms});
  asio::io_context io;
  auto a = connect_to(io, "::1", srv.port());
  auto b = connect_to(io, "::1", srv.port());
  EXPECT_EQ(round_trip(a, "a"), "a");
  EXPECT_EQ(round_trip(b, "b"), "b");
  auto c = connect_to(io, "::1", srv.port());  // the kernel accepts; the server closes it
  char byte;
  boost::system::error_code ec;
  asio::write(c, asio::buffer("c", 1), ec);
  asio::read(c, asio::buffer(&byte, 1), ec);
  EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
  EXPECT_EQ(round_trip(a, "a again"), "a again");
}

TEST(TcpEcho, IdleTimeoutClosesQuietLinksOnly) {
  running_server srv({"tcp://[::1]:0"}, server_options{0, 300ms, 5000ms});
  asio::io_context io;
  auto quiet = connect_to(io, "::1", srv.port());
  auto busy = connect_to(io, "::1", srv.port());
  // The busy link keeps talking more often than the timeout for ~1.5 s.
  for (int i = 0; i < 15; ++i) {
    EXPECT_EQ(round_trip(busy, "ping"), "ping");
    std::this_thread::sleep_for(100ms);
  }
  char byte;
  boost::system::error_code ec;
  quiet.non_blocking(false);
  asio::read(quiet, asio::buffer(&byte, 1), ec);  // returns once the server closes it
  EXPECT_EQ(ec, asio::error::eof);
  EXPECT_EQ(round_trip(busy, "still open"), "still open");
}

TEST(TcpEcho, ShutdownClosesIdleLinksAndStops) {
  auto srv = std::make_unique<running_server>(std::vector<std::string>{"tcp://[::1]:0"});
  asio::io_context io;
  auto s = connect_to(io, "::1", srv->port());
  EXPECT_EQ(round_trip(s, "before"), "before");
  srv->stop();  // returns only once every link is gone and the loop ended
  char byte;
  boost::system::error_code ec;
  asio::read(s, asio::buffer(&byte, 1), ec);
  EXPECT_EQ(ec, asio::error::eof);
  EXPECT_THROW(connect_to(io, "::1", srv->port()), boost::system::system_error) << "no longer accepting";
}

TEST(TcpEcho, CheckEchoClientVerifiesOverAnyLink) {
  running_server srv({"tcp://[::1]:0"});
  registry reg;
  add_builtin_transports(reg);
  asio::io_context io;
  std::optional<result<echo_totals>> r;
  std::vector<std::string> got;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto l = co_await connect(reg, "tcp://[::1]:" + std::to_string(srv.port()), 5000ms);
        if (!l) {
          r = l.err();
          co_return;
        }
        r = co_await check_echo(*l.value(), greeting(), 5000ms,
                                [&](std::size_t, std::string_view e) { got.emplace_back(e); });
      },
      asio::detached);
  io.run_for(30s);
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(*r) << r->err().message;
  EXPECT_EQ((*r)->messages, 2u);
  EXPECT_EQ(got, greeting());
}

namespace {

// A peer that reads everything the client sends before it echoes a byte,
// until the client has gone quiet for 300 ms: what it got then is what the
// client keeps in flight. Then it echoes every byte as an echo service would.
struct hesitant_echo_peer {
  asio::io_context io;
  ip::tcp::acceptor acceptor{io, ip::tcp::endpoint(ip::make_address("::1"), 0)};
  std::size_t first_burst = 0;
  std::thread thread;

  explicit hesitant_echo_peer(std::size_t total) {
    thread = std::thread([this, total] {
      auto s = acceptor.accept();
      std::string held;
      std::vector<char> buf(64 * 1024);
      pollfd p{s.native_handle(), POLLIN, 0};
      error_code ec;
      while (held.size() < total && ::poll(&p, 1, 300) > 0 && !ec)  // bounded: the sender is finite
        held.append(buf.data(), s.read_some(asio::buffer(buf), ec));
      first_burst = held.size();
      asio::write(s, asio::buffer(held), ec);
      for (std::size_t echoed = held.size(); echoed < total && !ec;) {
        auto n = s.read_some(asio::buffer(buf), ec);
        asio::write(s, asio::buffer(buf.data(), n), ec);
        echoed += n;
      }
    });
  }
  ~hesitant_echo_peer() {
    if (thread.joinable()) thread.join();
  }
};

result<echo_totals> check_against_hesitant_peer(std::size_t total, std::size_t window, std::size_t& first_burst) {
  registry reg;
  add_builtin_transports(reg);
  std::optional<result<echo_totals>> r;
  {
    hesitant_echo_peer peer(total);
    asio::io_context io;
    const std::vector<std::string> one{std::string(total, 'w')};
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          auto l = co_await connect(reg, "tcp://[::1]:" + std::to_string(peer.acceptor.local_endpoint().port()),
                                    5000ms);
          if (!l) {
            r = l.err();
            co_return;
          }
          r = co_await check_echo(*l.value(), one, 5000ms, {}, window);
        },
        asio::detached);
    io.run_for(30s);
    if (!r) r = error{make_error_code(errc::timed_out), "check_echo did not finish in 30 s"};
    peer.thread.join();
    first_burst = peer.first_burst;
  }
  return std::move(*r);
}

}  // namespace

TEST(TcpEcho, CheckEchoKeepsAtMostItsWindowInFlight) {
  std::size_t burst = 0;
  auto r = check_against_hesitant_peer(200 * 1024, 8192, burst);
  ASSERT_TRUE(r) << r.err().message;
  EXPECT_EQ(r->bytes, 200u * 1024);
  EXPECT_EQ(burst, 8192u) << "the client sent more than its window before any echo came back";
}

TEST(TcpEcho, CheckEchoWithoutAWindowSendsAhead) {
  std::size_t burst = 0;
  auto r = check_against_hesitant_peer(200 * 1024, 0, burst);
  ASSERT_TRUE(r) << r.err().message;
  EXPECT_GT(burst, 8192u);
}
