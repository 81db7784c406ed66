// can:// and isotp:// options, and the responder's refusal to storm.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "anysock/can/config.hpp"

using namespace anysock;
using namespace anysock::can;

namespace {
uri u(const char* text) { return *parse_uri(text); }
}  // namespace

TEST(CanConfig, DefaultsAreTheDiagnosticPair) {
  auto c = parse_raw(u("can://vcan0"));
  ASSERT_TRUE(c) << c.err().message;
  EXPECT_EQ(c->interface_name, "vcan0");
  ASSERT_EQ(c->rx.size(), 1u);
  EXPECT_TRUE(c->is_request(0x7E0));
  EXPECT_FALSE(c->is_request(0x7E8));
  EXPECT_FALSE(c->is_request(0x7E0 | CAN_EFF_FLAG)) << "an 11-bit filter does not pass 29-bit frames";
  EXPECT_EQ(c->reply_id(0x7E0), 0x7E8u);
  EXPECT_TRUE(check_storm_safe(u("can://vcan0"), *c));
}

TEST(CanConfig, FixedAndOffsetReplies) {
  auto c = parse_raw(u("can://vcan0?rx=123&tx=456"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->reply_id(0x123), 0x456u);
  auto o = parse_raw(u("can://vcan0?rx=100:700&tx=+200"));
  ASSERT_TRUE(o) << o.err().message;
  EXPECT_TRUE(o->is_request(0x1AB));
  EXPECT_EQ(o->reply_id(0x1AB), 0x3ABu);
  EXPECT_TRUE(check_storm_safe(u("can://vcan0?rx=100:700&tx=+200"), *o));
}

TEST(CanConfig, ExtendedIdsAndLists) {
  auto c = parse_raw(u("can://vcan0?rx=18DAF110,7DF&tx=18DA10F1&fd=1&err=1"));
  ASSERT_TRUE(c) << c.err().message;
  EXPECT_TRUE(c->is_request(0x18DAF110 | CAN_EFF_FLAG));
  EXPECT_TRUE(c->is_request(0x7DF));
  EXPECT_FALSE(c->is_request(0x18DAF110)) << "the 29-bit filter does not pass an 11-bit frame";
  EXPECT_EQ(c->tx_id, 0x18DA10F1u | CAN_EFF_FLAG);
  EXPECT_TRUE(c->fd);
  EXPECT_TRUE(c->errors);
  auto small = parse_raw(u("can://vcan0?rx=00000123&tx=00000124"));
  ASSERT_TRUE(small);
  EXPECT_TRUE(small->is_request(0x123 | CAN_EFF_FLAG)) << "8 digits means 29-bit";
}

TEST(CanConfig, RefusesConfigurationsThatCouldStorm) {
  for (const char* text : {"can://vcan0?rx=123&tx=123", "can://vcan0?rx=100:700&tx=1FF",
                           "can://vcan0?rx=100:700&tx=+8", "can://vcan0?rx=123,456&tx=456",
                           "can://vcan0?rx=123~7FF&tx=+1"}) {
    auto c = parse_raw(u(text));
    ASSERT_TRUE(c) << text << ": " << c.err().message;
    auto ok = check_storm_safe(u(text), *c);
    ASSERT_FALSE(ok) << text << " was accepted";
    const auto& m = ok.err().message;
    EXPECT_TRUE(m.find("answer each other") != std::string::npos || m.find("every 29-bit frame") != std::string::npos)
        << m;
  }
}

// Found by tests/fuzz/can_uri_fuzz: an inverted 11-bit filter also takes
// every 29-bit frame, so with a tx offset a 29-bit request's reply was taken
// as a request again, yet the check enumerated 11-bit IDs only.
TEST(CanConfig, InvertedElevenBitFilterWithAnOffsetIsRefused) {
  const auto text = u("can://can0?rx=1~0&tx=+1A");
  auto c = parse_raw(text);
  ASSERT_TRUE(c) << c.err().message;
  ASSERT_TRUE(c->is_request(0x18DA00F1 | CAN_EFF_FLAG));
  auto ok = check_storm_safe(text, *c);
  ASSERT_FALSE(ok);
  EXPECT_NE(ok.err().message.find("every 29-bit frame"), std::string::npos) << ok.err().message;
}

// Found by tests/fuzz/can_uri_fuzz: with many rx= filters and an offset
// the check walked every filter for every ID of every filter. A socket takes
// at most 512 filters, and 29-bit ones leave at most 2^16 IDs open together.
TEST(CanConfig, ManyFiltersAreCheckedAndBounded) {
  const auto list = [](int n, int first) {
    std::string rx;
    for (int i = 0; i < n; ++i) rx += fmt::format("{}{:03X}", i ? "," : "", first + i);
    return rx;
  };
  const auto many = fmt::format("can://vcan0?rx={}&tx=+400", list(512, 0));  // 000-1FF, replies 400-5FF
  auto c = parse_raw(u(many.c_str()));
  ASSERT_TRUE(c) << c.err().message;
  EXPECT_TRUE(check_storm_safe(u(many.c_str()), *c));
  const auto overlap = fmt::format("can://vcan0?rx={}&tx=+100", list(512, 0));  // 000's reply 100 is a request
  auto o = parse_raw(u(overlap.c_str()));
  ASSERT_TRUE(o);
  auto refused = check_storm_safe(u(overlap.c_str()), *o);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.err().message.find("answer each other"), std::string::npos) << refused.err().message;

  const auto too_many = fmt::format("can://vcan0?rx={}&tx=+800", list(513, 0));
  auto t = parse_raw(u(too_many.c_str()));
  ASSERT_FALSE(t);
  EXPECT_NE(t.err().message.find("at most 512"), std::string::npos) << t.err().message;

  const auto one_wide = u("can://vcan0?rx=18DA0000:1FFF0000&tx=+1000000");
  EXPECT_TRUE(check_storm_safe(one_wide, *parse_raw(one_wide)));
  const auto two_wide = u("can://vcan0?rx=18DA0000:1FFF0000,18DB0000:1FFF0000&tx=+1000000");
  auto w = check_storm_safe(two_wide, *parse_raw(two_wide));
  ASSERT_FALSE(w);
  EXPECT_NE(w.err().message.find("together"), std::string::npos) << w.err().message;
}

TEST(CanConfig, BadValuesAreOneLine) {
  struct {
    const char* text;
    const char* says;
  } cases[] = {
      {"can://vcan0?rx=XYZ", "not a hex CAN ID"},   {"can://vcan0?rx=20000000", "29 bits"},
      {"can://vcan0?tx=0123", "up to 3 digits"},    {"can://vcan0?rx=100:FFF", "mask"},
      {"can://vcan0?tx=+0", "non-zero"},            {"can://vcan0?tx=+Q", "non-zero"},
      {"can://vcan0?fd=2", "fd=1 or fd=0"},         {"can://vcan0?bitrate=500000", "unknown option 'bitrate'"},
  };
  for (auto& c : cases) {
    auto r = parse_raw(u(c.text));
    ASSERT_FALSE(r) << c.text;
    EXPECT_NE(r.err().message.find(c.says), std::string::npos) << c.text << ": " << r.err().message;
    EXPECT_EQ(r.err().message.find('\n'), std::string::npos);
  }
}

TEST(IsotpConfig, OptionsAndErrors) {
  auto c = parse_isotp(u("isotp://vcan0?rx=7E8&tx=7E0&fd=1&pad=AA&bs=8&stmin=5&ext=F1"));
  ASSERT_TRUE(c) << c.err().message;
  EXPECT_EQ(c->rx_id, 0x7E8u);
  EXPECT_EQ(c->tx_id, 0x7E0u);
  EXPECT_TRUE(c->fd);
  EXPECT_EQ(c->padding, 0xAA);
  EXPECT_EQ(c->block_size, 8);
  EXPECT_EQ(c->stmin, 5);
  EXPECT_EQ(c->ext_address, 0xF1);
  EXPECT_FALSE(parse_isotp(u("isotp://vcan0?rx=7E0&tx=7E0")));
  EXPECT_FALSE(parse_isotp(u("isotp://vcan0?pad=1FF")));
  EXPECT_FALSE(parse_isotp(u("isotp://vcan0?bs=300")));
}

TEST(CanConfig, ABridgeSidePassesEveryFrameWithItsIdByDefault) {
  auto c = parse_raw_bridge(u("can://vcan0"));
  ASSERT_TRUE(c) << c.err().message;
  for (canid_t id : {0x000u, 0x7E0u, 0x7FFu, 0x18DAF110u | CAN_EFF_FLAG, CAN_EFF_MASK | CAN_EFF_FLAG})
    EXPECT_TRUE(c->is_request(id)) << std::hex << id;
  EXPECT_EQ(c->reply_id(0x123), 0x123u);
  EXPECT_EQ(c->reply_id(0x18DAF110 | CAN_EFF_FLAG), 0x18DAF110u | CAN_EFF_FLAG);
}

TEST(CanConfig, ABridgeSideFiltersAndMapsWhatAnEchoWouldRefuse) {
  // An echo responder refuses this (a reply of 100 is 101, also a request);
  // a bridge side has no replies, only a mapping for the other bus.
  const auto text = u("can://vcan0?rx=100:700&tx=+1");
  EXPECT_FALSE(check_storm_safe(text, *parse_raw(text)));
  auto c = parse_raw_bridge(text);
  ASSERT_TRUE(c) << c.err().message;
  EXPECT_TRUE(c->is_request(0x100));
  EXPECT_TRUE(c->is_request(0x1FF));
  EXPECT_FALSE(c->is_request(0x200));
  EXPECT_EQ(c->reply_id(0x1FF), 0x200u);
  auto fixed = parse_raw_bridge(u("can://vcan0?tx=321"));
  ASSERT_TRUE(fixed);
  EXPECT_EQ(fixed->reply_id(0x100), 0x321u);
  EXPECT_FALSE(parse_raw_bridge(u("can://vcan0?rx=zz")));
  EXPECT_FALSE(parse_raw_bridge(u("can://vcan0?tx=+0")));
}
