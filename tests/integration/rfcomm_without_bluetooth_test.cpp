// On a host whose kernel has no AF_BLUETOOTH (this project's build machine):
// serve and send over rfcomm:// say so in one line. It opens real sockets,
// so it is not a unit test.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <cerrno>
#include <optional>

#include "anysock/bluetooth/rfcomm.hpp"

namespace {

using namespace anysock;
using namespace anysock::rfcomm;

// Real: this kernel's answer to socket(AF_BLUETOOTH). Where it has
// Bluetooth, the kernel tests cover the rest.
TEST(RfcommWithoutBluetooth, ServeAndSendSayTheKernelLacksIt) {
  int fd = ::socket(AF_BLUETOOTH, SOCK_STREAM, BTPROTO_RFCOMM);
  if (fd >= 0 || errno != EAFNOSUPPORT) {
    if (fd >= 0) ::close(fd);
    GTEST_SKIP() << "this kernel has AF_BLUETOOTH";
  }
  boost::asio::io_context io;
  auto u = parse_uri("rfcomm://any:0");
  auto l = listen(*u, io);
  ASSERT_FALSE(l);
  EXPECT_EQ(l.err().code.value(), EAFNOSUPPORT);
  EXPECT_NE(l.err().message.find("this kernel has no Bluetooth sockets (AF_BLUETOOTH)"), std::string::npos)
      << l.err().message;

  auto cu = parse_uri("rfcomm://00:1A:7D:DA:71:13:5");
  std::optional<result<rfcomm::link>> got;
  boost::asio::co_spawn(
      io, [&]() -> boost::asio::awaitable<void> { got.emplace(co_await connect(*cu, io.get_executor())); },
      boost::asio::detached);
  io.run();
  ASSERT_TRUE(got);
  ASSERT_FALSE(*got);
  EXPECT_NE(got->err().message.find("this kernel has no Bluetooth sockets"), std::string::npos);
}

}  // namespace
