// Which families a bridge can pair, and the reads it cuts a stream into.
#include <gtest/gtest.h>

#include "anysock/bridge.hpp"

using namespace anysock;

namespace {
uri u(const char* text) { return *parse_uri(text); }
}  // namespace

TEST(Bridge, FramesPairOnlyWithFrames) {
  using k = message_kind;
  EXPECT_TRUE(check_bridgeable(u("can://vcan0"), k::frames, u("can://vcan1"), k::frames));
  EXPECT_TRUE(check_bridgeable(u("tcp://[::]:1"), k::bytes, u("rfcomm://hci0:1"), k::bytes));
  EXPECT_TRUE(check_bridgeable(u("tcp://[::]:1"), k::bytes, u("isotp://vcan0"), k::messages));
  EXPECT_TRUE(check_bridgeable(u("isotp://vcan0"), k::messages, u("isotp://vcan1"), k::messages));
  for (auto [a, ka, b, kb] : {std::tuple{"can://vcan0", k::frames, "tcp://[::1]:7", k::bytes},
                              std::tuple{"tcp://[::1]:7", k::bytes, "can://vcan0", k::frames},
                              std::tuple{"isotp://vcan0", k::messages, "can://vcan0", k::frames}}) {
    auto r = check_bridgeable(u(a), ka, u(b), kb);
    ASSERT_FALSE(r) << a << " " << b;
    EXPECT_EQ(r.err().code, make_error_code(errc::unsupported));
    EXPECT_NE(r.err().message.find("cannot bridge " + std::string(a) + " and " + b), std::string::npos)
        << r.err().message;
    EXPECT_NE(r.err().message.find("can://vcan0 carries CAN frames"), std::string::npos) << r.err().message;
  }
}

TEST(Bridge, AStreamIsCutIntoMessagesTheOtherSideCanSend) {
  EXPECT_EQ(detail::stream_read_size(0), 16u * 1024);
  EXPECT_EQ(detail::stream_read_size(4095), 4095u);
  EXPECT_EQ(detail::stream_read_size(1u << 20), 16u * 1024);
}
