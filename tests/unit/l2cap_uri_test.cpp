// l2cap:// URIs as the L2CAP transport reads them, without Bluetooth: PSM
// rules of BR/EDR and LE, MTUs, modes, and the line each mistake gets.
#include <gtest/gtest.h>

#include "anysock/bluetooth/l2cap.hpp"
#include "anysock/bluetooth/l2cap_uri.hpp"

namespace {

using namespace anysock;
using namespace anysock::l2cap;

result<endpoint_spec> parse_text(std::string_view text, role r) {
  auto u = parse_uri(text);
  if (!u) return u.err();
  return parse(*u, r);
}

std::string error_of(std::string_view text, role r) {
  auto s = parse_text(text, r);
  return s ? std::string("<no error>") : s.err().message;
}

TEST(L2capUri, ClientAddressAndPsmSplitAtTheLastColon) {
  auto s = parse_text("l2cap://00:1A:7D:DA:71:13:0x1001", role::connect);
  ASSERT_TRUE(s) << s.err().message;
  EXPECT_EQ(s->kind, endpoint_spec::host_kind::address);
  EXPECT_EQ(bluetooth::format_address(s->address), "00:1A:7D:DA:71:13");
  EXPECT_EQ(s->psm, 0x1001);
  EXPECT_EQ(s->type, address_type::bredr);
  auto decimal = parse_text("l2cap://00:1A:7D:DA:71:13:4099", role::connect);
  ASSERT_TRUE(decimal) << decimal.err().message;
  EXPECT_EQ(decimal->psm, 0x1003);
}

TEST(L2capUri, LeClientsTakePublicOrRandomAddresses) {
  auto pub = parse_text("l2cap://00:1A:7D:DA:71:13:0x80?le=1", role::connect);
  ASSERT_TRUE(pub) << pub.err().message;
  EXPECT_EQ(pub->type, address_type::le_public);
  auto rnd = parse_text("l2cap://C0:1A:7D:DA:71:13:0x25?le=random&imtu=247&adapter=hci1", role::connect);
  ASSERT_TRUE(rnd) << rnd.err().message;
  EXPECT_EQ(rnd->type, address_type::le_random);
  EXPECT_EQ(rnd->psm, 0x25);  // a fixed (SIG) LE PSM is fine to connect to
  EXPECT_EQ(rnd->imtu.value_or(0), 247);
  EXPECT_EQ(rnd->via, "hci1");
}

TEST(L2capUri, ServerForms) {
  auto named = parse_text("l2cap://hci1:0x1001?imtu=1024&omtu=512&mode=ertm&sec=medium", role::listen);
  ASSERT_TRUE(named) << named.err().message;
  EXPECT_EQ(named->kind, endpoint_spec::host_kind::adapter);
  EXPECT_EQ(named->adapter, "hci1");
  EXPECT_EQ(named->imtu.value_or(0), 1024);
  EXPECT_EQ(named->omtu.value_or(0), 512);
  EXPECT_EQ(named->mode.value_or(channel_mode::basic), channel_mode::ertm);
  EXPECT_EQ(named->security.value_or(0), BT_SECURITY_MEDIUM);
  auto any = parse_text("l2cap://any:0?le=1", role::listen);
  ASSERT_TRUE(any) << any.err().message;
  EXPECT_EQ(any->kind, endpoint_spec::host_kind::any);
  EXPECT_EQ(any->psm, 0);
  auto bare = parse_text("l2cap://hci0", role::listen);
  ASSERT_TRUE(bare) << bare.err().message;
  EXPECT_EQ(bare->psm, 0);  // a free one
}

TEST(L2capUri, BredrPsmsAreOddWithBitEightClear) {
  EXPECT_NE(error_of("l2cap://00:1A:7D:DA:71:13:0x1002", role::connect).find("odd with bit 8 clear"), std::string::npos);
  EXPECT_NE(error_of("l2cap://00:1A:7D:DA:71:13:0x1101", role::connect).find("odd with bit 8 clear"), std::string::npos);
  // An LE-looking PSM without ?le= gets the hint.
  EXPECT_NE(error_of("l2cap://00:1A:7D:DA:71:13:0x80", role::connect).find("?le=1"), std::string::npos);
  EXPECT_TRUE(parse_text("l2cap://00:1A:7D:DA:71:13:0x0001", role::connect));  // SDP: a client may
  EXPECT_NE(error_of("l2cap://hci0:0x0003", role::listen).find("0x1001 or above"), std::string::npos);
}

TEST(L2capUri, LePsmsEndAt0xFFAndServersUseTheDynamicRange) {
  EXPECT_NE(error_of("l2cap://00:1A:7D:DA:71:13:0x1001?le=1", role::connect).find("0x01-0xFF"), std::string::npos);
  EXPECT_NE(error_of("l2cap://hci0:0x25?le=1", role::listen).find("0x80-0xFF"), std::string::npos);
  EXPECT_TRUE(parse_text("l2cap://hci0:0xFF?le=1", role::listen));
}

TEST(L2capUri, EachMistakeGetsItsLine) {
  EXPECT_NE(error_of("l2cap://00:1A:7D:DA:71:13", role::connect).find("needs the server's PSM"), std::string::npos);
  EXPECT_NE(error_of("l2cap://00:1A:7D:DA:71:13:0", role::connect).find("needs the server's PSM"), std::string::npos);
  EXPECT_NE(error_of("l2cap://hci0:0x1001", role::connect).find("?adapter=hci0"), std::string::npos);
  EXPECT_NE(error_of("l2cap://00:1A:7D:DA:71:13:zz", role::connect).find("is not a PSM"), std::string::npos);
  EXPECT_NE(error_of("l2cap://00:1A:7D:DA:71:1Z:0x1001", role::connect).find("not a Bluetooth address"),
            std::string::npos);
  EXPECT_NE(error_of("l2cap://00:1A:7D:DA:0x1001", role::connect).find("not a Bluetooth address and PSM"),
            std::string::npos);
  EXPECT_NE(error_of("l2cap://wlan0:0x1001", role::listen).find("neither a local adapter"), std::string::npos);
  EXPECT_NE(error_of("l2cap://hci0:0x1001/x", role::listen).find("takes no path"), std::string::npos);
  EXPECT_NE(error_of("l2cap://hci0:0x1001?imtu=47", role::listen).find("48-65535"), std::string::npos);
  EXPECT_NE(error_of("l2cap://hci0:0x80?le=1&imtu=22", role::listen).find("23-65535"), std::string::npos);
  EXPECT_NE(error_of("l2cap://hci0:0x80?le=1&omtu=100", role::listen).find("BR/EDR only"), std::string::npos);
  EXPECT_NE(error_of("l2cap://hci0:0x80?le=1&mode=ertm", role::listen).find("BR/EDR only"), std::string::npos);
  EXPECT_NE(error_of("l2cap://hci0:0x1001?mode=fast", role::listen).find("basic, ertm or streaming"),
            std::string::npos);
  EXPECT_NE(error_of("l2cap://hci0:0x1001?le=yes", role::listen).find("not an address type"), std::string::npos);
  EXPECT_NE(error_of("l2cap://hci0:0x1001?sec=max", role::listen).find("low, medium, high or fips"),
            std::string::npos);
  EXPECT_NE(error_of("l2cap://hci0:0x1001?adapter=hci1", role::listen).find("adapter"), std::string::npos);
}

TEST(L2capUri, PrintedNamesReadBack) {
  auto a = *bluetooth::parse_address("00:1A:7D:DA:71:13");
  EXPECT_EQ(format_uri(a, 0x1001, address_type::bredr), "l2cap://00:1A:7D:DA:71:13:0x1001");
  EXPECT_EQ(format_uri(bluetooth::any_address, 0x80, address_type::le_public), "l2cap://any:0x0080?le=1");
  auto back = parse_text(format_uri(a, 0x85, address_type::le_random), role::connect);
  ASSERT_TRUE(back) << back.err().message;
  EXPECT_EQ(back->psm, 0x85);
  EXPECT_EQ(back->type, address_type::le_random);
}

TEST(L2capTransport, CarriesMessagesAsLargeAsTheUriSays) {
  auto t = make_transport();
  EXPECT_EQ(t.carries, message_kind::messages);
  auto u = parse_uri("l2cap://hci0:0x1001?omtu=2000");
  ASSERT_TRUE(u);
  EXPECT_EQ(shape(t, *u).max_message, 2000u);
  auto le = parse_uri("l2cap://00:1A:7D:DA:71:13:0x80?le=1&imtu=500&adapter=hci1");
  ASSERT_TRUE(le);
  EXPECT_EQ(shape(t, *le).max_message, 500u);
}

}  // namespace
