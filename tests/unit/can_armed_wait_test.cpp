// armed_socket's wait after a read found the socket empty, on a TCP socket
// pair (the socketcand server uses it on its client side): it completes
// when data comes and when cancelled, in whichever wait the build chose.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <optional>

#include "anysock/can/armed_wait.hpp"

using namespace std::chrono_literals;
namespace asio = boost::asio;
using asio::ip::tcp;
using anysock::can::armed_socket;
using anysock::can::read_scope;

namespace {

struct socket_pair {
  asio::io_context io{1};
  tcp::socket client{io};
  std::optional<armed_socket<tcp::socket>> server;

  socket_pair() {
    tcp::acceptor acceptor(io, {asio::ip::address_v6::loopback(), 0});
    client.connect(acceptor.local_endpoint());
    server.emplace(acceptor.accept());
    server->non_blocking(true);
  }

  // Reads the server side empty and queues the wait in one scope, as a
  // link does; returns where the wait's result will be.
  std::shared_ptr<std::optional<boost::system::error_code>> read_empty_then_wait() {
    auto done = std::make_shared<std::optional<boost::system::error_code>>();
    io.restart();  // a run that ran out of work left it stopped
    read_scope scope;
    char buf[64];
    boost::system::error_code ec;
    while (!ec) server->read_some(asio::buffer(buf), ec);
    EXPECT_EQ(ec, asio::error::would_block);
    server->async_wait_known_empty([done](boost::system::error_code e) { *done = e; });
    return done;
  }

  void run_until(const std::optional<boost::system::error_code>& done) {
    for (int i = 0; i < 500 && !done; ++i) io.run_one_for(10ms);
  }
};

}  // namespace

TEST(ArmedSocket, TheBuildChoseItsWait) {
#ifdef ANYSOCK_CAN_PORTABLE_WAIT
  EXPECT_EQ(ANYSOCK_CAN_ARMED_WAIT, 0) << "-DANYSOCK_CAN_ARMED_WAIT=OFF must give Asio's own wait";
#endif
  RecordProperty("can_wait", ANYSOCK_CAN_ARMED_WAIT ? "armed" : "portable");
}

TEST(ArmedSocket, WaitAfterAnEmptyReadCompletesWhenDataComes) {
  socket_pair p;
  for (int round = 0; round < 3; ++round) {
    auto done = p.read_empty_then_wait();
    p.io.poll();
    EXPECT_FALSE(*done) << "round " << round << ": the wait completed with nothing to read";
    asio::write(p.client, asio::buffer("frame", 5));
    p.run_until(*done);
    ASSERT_TRUE(*done) << "round " << round << ": data came and the wait did not complete";
    EXPECT_FALSE(done->value()) << done->value().message();
  }
}

TEST(ArmedSocket, CancelEndsTheWait) {
  socket_pair p;
  auto done = p.read_empty_then_wait();
  p.io.poll();
  ASSERT_FALSE(*done);
  p.server->cancel();
  p.run_until(*done);
  ASSERT_TRUE(*done);
  EXPECT_EQ(done->value(), asio::error::operation_aborted);
}

TEST(ArmedSocket, ThePeerClosingEndsTheWait) {
  socket_pair p;
  auto done = p.read_empty_then_wait();
  p.io.poll();
  ASSERT_FALSE(*done);
  p.client.close();
  p.run_until(*done);
  ASSERT_TRUE(*done) << "a closed peer makes the socket readable (EOF)";
  EXPECT_FALSE(done->value());
}
