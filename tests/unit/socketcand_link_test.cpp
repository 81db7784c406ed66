// The socketcand:// client link over loopback TCP against a scripted server
// (no CAN needed: the server side is the protocol's text): URI checks, the
// handshake and its failures, frames glued to the `< ok >` and split across
// reads, the roles' filters, sends arriving whole and in order while the
// server reads late, and the end of the connection.
#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <array>
#include <chrono>
#include <fmt/format.h>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "anysock/can/socketcand_link.hpp"

namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using anysock::error_code;
using anysock::message_header;
using anysock::can::link_role;
using anysock::can::socketcand_link;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

anysock::uri parsed(const std::string& text) { return anysock::parse_uri(text).value(); }

TEST(SocketcandUri, PortDefaultsToSocketcandsAndTheBusIsThePath) {
  auto r = anysock::can::socketcand::parse_remote(parsed("socketcand://pi/can0?rx=123&tx=456"), false);
  ASSERT_TRUE(r) << r.err().message;
  EXPECT_EQ(r->host, "pi");
  EXPECT_EQ(r->port, 29536);
  EXPECT_EQ(r->bus, "can0");
  EXPECT_EQ(r->frames.tx_id, 0x456u);
  auto v6 = anysock::can::socketcand::parse_remote(parsed("socketcand://[::1]:4000/vcan1"), true);
  ASSERT_TRUE(v6) << v6.err().message;
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 4000);
  auto bare6 = anysock::can::socketcand::parse_remote(parsed("socketcand://[::1]/vcan1"), true);
  ASSERT_TRUE(bare6) << bare6.err().message;
  EXPECT_EQ(bare6->port, 29536);
  auto fd = anysock::can::socketcand::parse_remote(parsed("socketcand://pi/can0?fd=1"), false);
  ASSERT_TRUE(fd) << fd.err().message;
  EXPECT_TRUE(fd->frames.fd);
}

TEST(SocketcandUri, BadOnesSayWhatToWrite) {
  for (const char* text : {"socketcand://pi", "socketcand://pi/", "socketcand://pi/a/b", "socketcand://pi:0/can0",
                           "socketcand://pi/can0?rx=XYZ", "socketcand://pi/can0?err=1", "socketcand://pi/can0?bogus=1",
                           "socketcand://pi/can0>"}) {
    auto r = anysock::can::socketcand::parse_remote(parsed(text), false);
    ASSERT_FALSE(r) << text;
    EXPECT_NE(r.err().message.find(text), std::string::npos) << r.err().message;
    EXPECT_EQ(r.err().message.find('\n'), std::string::npos) << r.err().message;
  }
}

// A loopback server running `script` on the one connection it accepts.
struct scripted_server {
  using script = std::function<asio::awaitable<void>(tcp::socket&)>;
  scripted_server(asio::io_context& io, script s) : acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0)) {
    asio::co_spawn(
        io,
        [this, s = std::move(s)]() -> asio::awaitable<void> {
          auto [ec, sock] = co_await acceptor.async_accept(use_tuple);
          if (ec) co_return;
          peer.emplace(std::move(sock));
          co_await s(*peer);
        },
        asio::detached);
  }
  std::string url(const std::string& bus_and_query) const {
    return "socketcand://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + "/" + bus_and_query;
  }
  tcp::acceptor acceptor;
  std::optional<tcp::socket> peer;
};

// Reads one `< ... >` message (and nothing after it).
asio::awaitable<std::string> read_message(tcp::socket& s) {
  std::string m;
  char c = 0;
  while (c != '>') {
    auto [ec, n] = co_await asio::async_read(s, asio::buffer(&c, 1), use_tuple);
    if (ec) co_return m;
    m += c;
  }
  co_return m;
}

asio::awaitable<void> say(tcp::socket& s, std::string text) {
  co_await asio::async_write(s, asio::buffer(text), use_tuple);
}

// The server's half of a good handshake; `after_ok` goes in the same write as
// the last `< ok >`, as upstream socketcand may send its first frame.
asio::awaitable<std::vector<std::string>> good_handshake(tcp::socket& s, std::string after_ok = "") {
  std::vector<std::string> heard;
  co_await say(s, "< hi >");
  heard.push_back(co_await read_message(s));
  co_await say(s, "< ok >");
  heard.push_back(co_await read_message(s));
  co_await say(s, "< ok >" + after_ok);
  co_return heard;
}

// Runs `io` until `done` or 10 s.
void run_until(asio::io_context& io, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    if (io.stopped()) io.restart();  // it runs out of work between steps
    io.run_for(10ms);
  }
}

std::optional<anysock::result<socketcand_link>> connect(asio::io_context& io, const std::string& url, link_role r) {
  std::optional<anysock::result<socketcand_link>> out;
  asio::co_spawn(
      io,
      [&, url]() -> asio::awaitable<void> {
        out.emplace(co_await anysock::can::connect_socketcand(parsed(url), io.get_executor(), r));
      },
      asio::detached);
  run_until(io, [&] { return out.has_value(); });
  return out;
}

struct received {
  std::string hex;  // "ID#DATA"
  error_code ec;
};

// One awaited receive, as "ID#HEX".
received receive_one(asio::io_context& io, socketcand_link& l) {
  std::optional<received> got;
  std::array<unsigned char, 64> buf{};
  message_header h{};
  l.async_receive(asio::buffer(buf), h, [&](error_code ec, std::size_t n) {
    std::string s = fmt::format("{:X}#", h.id & CAN_EFF_MASK);
    for (std::size_t i = 0; i < n; ++i) s += fmt::format("{:02X}", buf[i]);
    got = received{ec ? std::string() : s, ec};
  });
  run_until(io, [&] { return got.has_value(); });
  return got.value_or(received{"(nothing in 10 s)", {}});
}

TEST(SocketcandLink, HandshakeThenFramesGluedToTheOkAndSplitAcrossReadsInOrder) {
  asio::io_context io;
  std::vector<std::string> heard;
  scripted_server srv(io, [&](tcp::socket& s) -> asio::awaitable<void> {
    heard = co_await good_handshake(s, "< frame 123 1.000000 DEADBEEF >");
    co_await say(s, "< frame 12345678 1.5 0102 >< fra");
    asio::steady_timer t(s.get_executor(), 50ms);
    co_await t.async_wait(use_tuple);
    co_await say(s, "me 7FF 2.000000  >garbage< nonsense here >< frame 124 3.000000 AA >");
    co_await read_message(s);  // until the client goes
  });
  auto l = connect(io, srv.url("vcan0"), link_role::bridge);
  ASSERT_TRUE(l && *l) << (l ? l->err().message : "no answer");
  EXPECT_EQ(heard, (std::vector<std::string>{"< open vcan0 >", "< rawmode >"}));
  EXPECT_EQ(receive_one(io, **l).hex, "123#DEADBEEF");
  EXPECT_EQ(receive_one(io, **l).hex, "12345678#0102");
  EXPECT_EQ(receive_one(io, **l).hex, "7FF#");
  EXPECT_EQ(receive_one(io, **l).hex, "124#AA");  // the nonsense between was skipped
  (*l)->close();
}

TEST(SocketcandLink, AClientHearsOnlyTheReplyToWhatItSent) {
  asio::io_context io;
  std::string sent;
  scripted_server srv(io, [&](tcp::socket& s) -> asio::awaitable<void> {
    co_await good_handshake(s);
    sent = co_await read_message(s);
    co_await say(s, "< frame 123 1.0 01 >< frame 457 1.0 02 >< frame 456 1.0 03 >");
    co_await read_message(s);
  });
  auto l = connect(io, srv.url("vcan0?rx=123&tx=456"), link_role::client);
  ASSERT_TRUE(l && *l) << (l ? l->err().message : "no answer");
  const unsigned char payload[] = {0xCA, 0xFE};
  error_code ec;
  EXPECT_EQ((*l)->try_send(asio::buffer(payload), message_header{0x123, 0}, ec), 2u) << ec.message();
  EXPECT_EQ(receive_one(io, **l).hex, "456#03");
  EXPECT_EQ(sent, "< send 123 2 CA FE >");
  (*l)->close();
}

// 20,000 frames sent as fast as the link takes them while the server waits a
// second before reading: sends wait for room instead of failing or growing
// without bound, and every frame arrives whole and in order.
TEST(SocketcandLink, ManySendsWhileTheServerReadsLateArriveInOrder) {
  asio::io_context io;
  constexpr int n = 20000;
  std::string want;
  for (int i = 0; i < n; ++i) want += fmt::format("< send 100 2 {:02X} {:02X} >", (i >> 8) & 0xFF, i & 0xFF);
  std::string all;
  bool server_done = false;
  scripted_server srv(io, [&](tcp::socket& s) -> asio::awaitable<void> {
    co_await good_handshake(s);
    asio::steady_timer t(s.get_executor(), 1s);
    co_await t.async_wait(use_tuple);
    std::array<char, 65536> buf;
    while (all.size() < want.size()) {
      auto [ec, got] = co_await s.async_read_some(asio::buffer(buf), use_tuple);
      if (ec) break;
      all.append(buf.data(), got);
    }
    server_done = true;
  });
  auto l = connect(io, srv.url("vcan0"), link_role::bridge);
  ASSERT_TRUE(l && *l) << (l ? l->err().message : "no answer");
  int sent = 0;
  std::optional<error_code> failed;
  std::function<void()> next = [&] {
    if (sent == n) return;
    unsigned char b[2] = {static_cast<unsigned char>(sent >> 8), static_cast<unsigned char>(sent)};
    (*l)->async_send(asio::buffer(b), message_header{0x100, 0}, [&](error_code ec, std::size_t) {
      if (ec) return failed.emplace(ec), void();
      ++sent;
      next();
    });
  };
  next();
  run_until(io, [&] { return server_done || failed; });
  ASSERT_FALSE(failed) << failed->message();
  EXPECT_EQ(sent, n);
  EXPECT_TRUE(all == want) << all.size() << " of " << want.size() << " bytes arrived as sent";
  (*l)->close();
}

TEST(SocketcandLink, TheServerClosingEndsTheReceive) {
  asio::io_context io;
  scripted_server srv(io, [&](tcp::socket& s) -> asio::awaitable<void> {
    co_await good_handshake(s, "< frame 123 1.0 01 >");
    s.close();
  });
  auto l = connect(io, srv.url("vcan0"), link_role::bridge);
  ASSERT_TRUE(l && *l) << (l ? l->err().message : "no answer");
  EXPECT_EQ(receive_one(io, **l).hex, "123#01");
  auto end = receive_one(io, **l);
  EXPECT_EQ(end.ec, asio::error::eof) << end.ec.message() << " " << end.hex;
}

TEST(SocketcandLink, AServerThatRefusesTheBusOrIsNotSocketcandIsOneLine) {
  struct refusal {
    std::string first, then, says;
  };
  for (const auto& c : std::vector<refusal>{
           {"< hi >", "< error no such bus >", "answered `< open vcan9 >` with `< error no such bus >`"},
           {"HTTP/1.0 200 OK\r\n\r\n<html>", "", "said `< html >`, which is not socketcand"},
           {"< hi >", "", "closed the connection during the handshake"}}) {
    asio::io_context io;
    scripted_server srv(io, [&](tcp::socket& s) -> asio::awaitable<void> {
      co_await say(s, c.first);
      co_await read_message(s);
      if (!c.then.empty()) co_await say(s, c.then);
      s.close();
    });
    auto l = connect(io, srv.url("vcan9"), link_role::client);
    ASSERT_TRUE(l.has_value());
    ASSERT_FALSE(*l);
    EXPECT_NE(l->err().message.find(c.says), std::string::npos) << l->err().message;
    EXPECT_EQ(l->err().message.find('\n'), std::string::npos) << l->err().message;
  }
}

}  // namespace
