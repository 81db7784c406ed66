// can-utils frame text: every form cansend takes, and one clear line for
// every form it does not.
#include <gtest/gtest.h>

#include "anysock/can/frame.hpp"

using namespace anysock::can;

TEST(CanFrame, ClassicStandardId) {
  auto f = parse_frame("123#DEADBEEF");
  ASSERT_TRUE(f) << f.err().message;
  EXPECT_EQ(f->id, 0x123u);
  EXPECT_FALSE(f->extended());
  EXPECT_EQ(f->len, 4);
  EXPECT_EQ(f->data[0], 0xDE);
  EXPECT_EQ(f->data[3], 0xEF);
  EXPECT_EQ(format_frame(*f), "123#DEADBEEF");
  EXPECT_EQ(format_candump(*f, "vcan0"), "  vcan0  123   [4]  DE AD BE EF");
}

TEST(CanFrame, DotsEmptyAndLowercase) {
  auto f = parse_frame("7e0#11.22.33");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->id, 0x7E0u);
  EXPECT_EQ(f->len, 3);
  EXPECT_EQ(format_frame(*f), "7E0#112233");
  auto e = parse_frame("123#");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->len, 0);
  EXPECT_EQ(format_candump(*e, "vcan0"), "  vcan0  123   [0]");
}

TEST(CanFrame, ExtendedId) {
  auto f = parse_frame("12345678#1122");
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->extended());
  EXPECT_EQ(f->ident(), 0x12345678u);
  EXPECT_EQ(format_frame(*f), "12345678#1122");
  EXPECT_EQ(format_candump(*f, "vcan1"), "  vcan1  12345678   [2]  11 22");
  auto low = parse_frame("00000123#");  // 8 digits means 29-bit, even for a small number
  ASSERT_TRUE(low);
  EXPECT_TRUE(low->extended());
}

TEST(CanFrame, RemoteRequest) {
  auto f = parse_frame("123#R");
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->remote());
  EXPECT_EQ(f->len, 0);
  auto g = parse_frame("123#R3");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->len, 3);
  EXPECT_EQ(format_frame(*g), "123#R3");
  EXPECT_EQ(format_candump(*g, "vcan0"), "  vcan0  123   [3]  remote request");
}

TEST(CanFrame, FdWithFlags) {
  std::string text = "123##1";
  for (int i = 0; i < 64; ++i) text += "A5";
  auto f = parse_frame(text);
  ASSERT_TRUE(f) << f.err().message;
  EXPECT_TRUE(f->fd);
  EXPECT_EQ(f->fd_flags, CANFD_BRS);
  EXPECT_EQ(f->len, 64);
  EXPECT_EQ(format_frame(*f), text);
  auto s = format_candump(*f, "vcan0");
  EXPECT_EQ(s.rfind("  vcan0  123  [64]  A5 A5", 0), 0u) << s;
}

TEST(CanFrame, Len8Dlc) {
  auto f = parse_frame("123#1122334455667788_E");
  ASSERT_TRUE(f) << f.err().message;
  EXPECT_EQ(f->len, 8);
  EXPECT_EQ(f->len8_dlc, 0xE);
  EXPECT_EQ(format_frame(*f), "123#1122334455667788_E");
}

TEST(CanFrame, KernelRoundTrip) {
  for (const char* text : {"123#DEADBEEF", "1FFFFFFF#00", "123##30011223344556677", "123#R2",
                           "123#1122334455667788_9"}) {
    auto f = parse_frame(text);
    ASSERT_TRUE(f) << text;
    canfd_frame k{};
    auto mtu = to_kernel(*f, k);
    EXPECT_EQ(mtu, f->fd ? CANFD_MTU : CAN_MTU);
    auto back = from_kernel(&k, mtu);
    EXPECT_EQ(format_frame(back), format_frame(*f)) << text;
  }
}

TEST(CanFrame, BadFormsSayWhatIsWrong) {
  struct {
    const char* text;
    const char* says;
  } cases[] = {
      {"123DEADBEEF", "no '#'"},
      {"12#00", "3 hex digits"},
      {"1234#00", "3 hex digits"},
      {"800#00", "up to 7FF"},
      {"40000000#00", "up to 1FFFFFFF"},
      {"12G#00", "not hexadecimal"},
      {"123#DEADBEE", "pairs of hex"},
      {"123#XY", "pairs of hex"},
      {"123#112233445566778899", "at most 8 bytes"},
      {"123##", "flags digit"},
      {"123##Z00", "one hex digit"},
      {"123##1112233445566778899", "not 9"},
      {"123#R9", "0-8"},
      {"123#1122_E", "exactly 8 data bytes"},
  };
  for (auto& c : cases) {
    auto f = parse_frame(c.text);
    ASSERT_FALSE(f) << c.text << " was accepted";
    EXPECT_NE(f.err().message.find(c.says), std::string::npos) << c.text << ": " << f.err().message;
    EXPECT_NE(f.err().message.find(c.text), std::string::npos) << "quotes the input: " << f.err().message;
  }
}

// cansend's ID#R8_D: a remote request with a DLC of 9..15 (found by
// tests/fuzz/can_kernel_fuzz: such a frame from the bus did not read back).
TEST(CanFrame, RemoteRequestWithLen8Dlc) {
  auto f = parse_frame("123#R8_E");
  ASSERT_TRUE(f) << f.err().message;
  EXPECT_TRUE(f->remote());
  EXPECT_EQ(f->len, 8);
  EXPECT_EQ(f->len8_dlc, 0xE);
  EXPECT_EQ(format_frame(*f), "123#R8_E");
  EXPECT_FALSE(parse_frame("123#R8_7"));
  EXPECT_FALSE(parse_frame("123#R7_E"));
}

TEST(CanFrame, RefusesBytesOutsideTheSyntaxOnOneLine) {
  auto f = parse_frame("123#DE\nAD");
  ASSERT_FALSE(f);
  EXPECT_EQ(f.err().message.find('\n'), std::string::npos) << f.err().message;
  EXPECT_NE(f.err().message.find("byte \\x0A at position 6"), std::string::npos) << f.err().message;
}
