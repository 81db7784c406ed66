// stream_link's receive over a real kernel stream socket (a socketpair):
// every byte sent in pieces and pauses, the end of stream that came right
// behind the last bytes, a close while waiting; one thread and several.
// The end-of-stream case is why a receive may not take a short read as
// proof of an empty socket: the end came with the same readiness edge as
// the bytes, and a wait queued after them would never wake.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/connect_pair.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "anysock/stream_link.hpp"

namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
using socket_type = asio::local::stream_protocol::socket;
using anysock::error_code;
using anysock::message_header;

// Our end non-blocking, as every transport's setup makes it.
socket_type connected_pair(asio::io_context& io, socket_type& peer) {
  socket_type ours(io);
  asio::local::connect_pair(ours, peer);
  ours.non_blocking(true);
  return ours;
}

struct pair_fixture {
  explicit pair_fixture(asio::io_context& io) : peer(io), link(connected_pair(io, peer)) {}
  socket_type peer;
  anysock::stream_link<socket_type> link;
};

// Receives until `want` bytes came, each receive started from the last one's
// completion, as a relay does.
struct receiver {
  receiver(anysock::stream_link<socket_type>& l, std::size_t w) : link(l), want(w) {}
  anysock::stream_link<socket_type>& link;
  std::size_t want;
  std::string got;
  error_code end;
  int receives = 0;
  std::vector<char> buf = std::vector<char>(64);
  message_header h{};

  bool one_thread = true;  // else a handler may run before initiating is reset
  bool initiating = false;

  void start() {
    ++receives;
    initiating = true;
    link.async_receive(asio::buffer(buf), h, [this](error_code ec, std::size_t n) {
      if (one_thread) {
        EXPECT_FALSE(initiating) << "completed inside the initiating call";
      }
      if (ec) {
        end = ec;
        return;
      }
      got.append(buf.data(), n);
      if (got.size() < want) start();
    });
    initiating = false;
  }
};

TEST(StreamLink, OneThreadReceivesEveryByteSentInPiecesWithPauses) {
  asio::io_context io(1);
  pair_fixture p(io);
  ASSERT_TRUE(p.link.socket().non_blocking());
  // 200 pieces of 1..40 bytes, some back to back, some after a pause: short
  // reads, waits after them, and bytes that come while a receive is queued.
  std::string all;
  std::vector<std::string> pieces;
  for (int i = 0; i < 200; ++i) {
    std::string s(static_cast<std::size_t>(1 + i % 40), static_cast<char>('a' + i % 26));
    pieces.push_back(s);
    all += s;
  }
  receiver r(p.link, all.size());
  r.start();
  asio::steady_timer t(io);
  std::size_t next = 0;
  std::function<void()> write_some = [&] {
    const std::size_t burst = next % 3 + 1;
    for (std::size_t k = 0; k < burst && next < pieces.size(); ++k, ++next)
      asio::write(p.peer, asio::buffer(pieces[next]));
    if (next == pieces.size()) return;
    t.expires_after(next % 5 == 0 ? 2ms : 0ms);
    t.async_wait([&](error_code) { write_some(); });
  };
  write_some();
  io.run_for(20s);
  EXPECT_EQ(r.got, all);
  EXPECT_FALSE(r.end) << r.end.message();
}

TEST(StreamLink, ReceiveQueuedAfterAShortReadWakesForLaterBytes) {
  asio::io_context io(1);
  pair_fixture p(io);
  asio::write(p.peer, asio::buffer(std::string("abc")));
  receiver r(p.link, 6);
  r.start();
  // The first receive reads "abc" (short: the socket is then known empty),
  // the second waits without a read; the bytes come 50 ms later.
  asio::steady_timer t(io, 50ms);
  t.async_wait([&](error_code) { asio::write(p.peer, asio::buffer(std::string("def"))); });
  io.run_for(10s);
  EXPECT_EQ(r.got, "abcdef");
  EXPECT_EQ(r.receives, 2);
}

TEST(StreamLink, EndOfStreamAndCloseEndTheReceive) {
  asio::io_context io(1);
  pair_fixture p(io);
  receiver r(p.link, 1000);
  r.start();
  asio::post(io, [&] {
    asio::write(p.peer, asio::buffer(std::string("last")));
    p.peer.close();
  });
  io.run_for(10s);
  EXPECT_EQ(r.got, "last");
  EXPECT_EQ(r.end, asio::error::eof) << r.end.message();

  asio::io_context io2(1);
  pair_fixture q(io2);
  receiver waiting(q.link, 1);
  waiting.start();
  asio::post(io2, [&] { q.link.close(); });
  io2.run_for(10s);
  EXPECT_EQ(waiting.end, asio::error::operation_aborted) << waiting.end.message();
}

TEST(StreamLink, SeveralThreadsUseAsiosReadAndLoseNothing) {
  asio::io_context io;  // no hint: several threads may run it
  pair_fixture p(io);
  std::string all(5000, 'x');
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<char>('a' + i % 26);
  receiver r(p.link, all.size());
  r.one_thread = false;
  r.start();
  std::thread writer([&] {
    for (std::size_t i = 0; i < all.size(); i += 100) {
      asio::write(p.peer, asio::buffer(all.data() + i, 100));
      std::this_thread::sleep_for(1ms);
    }
  });
  std::thread second([&] { io.run_for(20s); });
  io.run_for(20s);
  second.join();
  writer.join();
  EXPECT_EQ(r.got, all);
}

}  // namespace
