// rfcomm:// URIs, Bluetooth addresses and UUIDs as the RFCOMM transport reads
// them, without Bluetooth.
#include <gtest/gtest.h>

#include "anysock/bluetooth/rfcomm_uri.hpp"
#include "anysock/bluetooth/rfcomm.hpp"

namespace {

using namespace anysock;
using namespace anysock::rfcomm;

result<endpoint_spec> parse_text(std::string_view text, role r) {
  auto u = parse_uri(text);
  if (!u) return u.err();
  return parse(*u, r);
}

std::string error_of(std::string_view text, role r) {
  auto s = parse_text(text, r);
  return s ? std::string("<no error>") : s.err().message;
}

TEST(BluetoothAddress, ParsesSixHexBytesAndStoresThemLittleEndian) {
  auto a = parse_address("00:1A:7d:DA:71:13");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->b[0], 0x13);
  EXPECT_EQ(a->b[5], 0x00);
  EXPECT_EQ(format_address(*a), "00:1A:7D:DA:71:13");
}

TEST(BluetoothAddress, RejectsWhatStr2baWouldTakeSilently) {
  for (auto bad : {"1:2", "00:1A:7D:DA:71", "00:1A:7D:DA:71:1", "00:1A:7D:DA:71:13:", "00-1A-7D-DA-71-13",
                   "00:1A:7D:DA:71:1G", "0:01A:7D:DA:71:13", ""})
    EXPECT_FALSE(parse_address(bad)) << bad;
}

TEST(RfcommUri, ClientAddressAndChannelSplitAtTheLastColon) {
  auto s = parse_text("rfcomm://00:1A:7D:DA:71:13:5", role::connect);
  ASSERT_TRUE(s) << s.err().message;
  EXPECT_EQ(s->kind, endpoint_spec::host_kind::address);
  EXPECT_EQ(format_address(s->address), "00:1A:7D:DA:71:13");
  EXPECT_EQ(s->channel, 5);
  EXPECT_EQ(s->uuid, serial_port_uuid);
}

TEST(RfcommUri, ClientWithoutChannelMeansSdpLookup) {
  auto s = parse_text("rfcomm://00:1A:7D:DA:71:13?uuid=00001101-0000-1000-8000-00805F9B34FB&name=echo", role::connect);
  ASSERT_TRUE(s) << s.err().message;
  EXPECT_EQ(s->channel, 0);
  EXPECT_EQ(s->uuid, serial_port_uuid);  // the base-UUID form folds to 0x1101
  EXPECT_EQ(s->service_name.value_or(""), "echo");
}

TEST(RfcommUri, ServerForms) {
  auto by_name = parse_text("rfcomm://hci1:30", role::listen);
  ASSERT_TRUE(by_name) << by_name.err().message;
  EXPECT_EQ(by_name->kind, endpoint_spec::host_kind::adapter);
  EXPECT_EQ(by_name->adapter, "hci1");
  EXPECT_EQ(by_name->channel, 30);
  auto any = parse_text("rfcomm://any", role::listen);
  ASSERT_TRUE(any);
  EXPECT_EQ(any->kind, endpoint_spec::host_kind::any);
  EXPECT_EQ(any->channel, 0);
  auto by_address = parse_text("rfcomm://00:1A:7D:DA:71:13:0?sec=high&lm=master,auth", role::listen);
  ASSERT_TRUE(by_address) << by_address.err().message;
  EXPECT_EQ(by_address->kind, endpoint_spec::host_kind::address);
  EXPECT_EQ(by_address->channel, 0);
  EXPECT_EQ(by_address->security.value_or(0), BT_SECURITY_HIGH);
  EXPECT_EQ(by_address->link_mode.value_or(0), static_cast<std::uint32_t>(RFCOMM_LM_MASTER | RFCOMM_LM_AUTH));
}

TEST(RfcommUri, ChannelOutOfRange) {
  EXPECT_EQ(error_of("rfcomm://00:1A:7D:DA:71:13:31", role::connect),
            "bad URI 'rfcomm://00:1A:7D:DA:71:13:31': channel 31 is out of range: RFCOMM channels are 1-30 (leave "
            "it out to look it up by SDP)");
  EXPECT_NE(error_of("rfcomm://00:1A:7D:DA:71:13:0", role::connect).find("out of range"), std::string::npos);
  EXPECT_NE(error_of("rfcomm://hci0:99", role::listen).find("(0 or none picks a free one)"), std::string::npos);
  EXPECT_NE(error_of("rfcomm://hci0:x", role::listen).find("'x' is not an RFCOMM channel number"), std::string::npos);
}

TEST(RfcommUri, BadAddressesAndNames) {
  EXPECT_NE(error_of("rfcomm://00:1A:7D:DA:71:5", role::connect).find("'00:1A:7D:DA:71:5' is not a Bluetooth address"),
            std::string::npos);
  EXPECT_NE(error_of("rfcomm://hci0:5", role::connect).find("a client connects to a device address"),
            std::string::npos);
  EXPECT_NE(error_of("rfcomm://usb0:5", role::listen).find("neither a local adapter"), std::string::npos);
  EXPECT_NE(error_of("rfcomm://1:2:3:4", role::listen).find("is not a Bluetooth address and channel"),
            std::string::npos);
  EXPECT_NE(error_of("rfcomm://00:1A:7D:DA:71:13:5/x", role::connect).find("takes no path"), std::string::npos);
}

TEST(RfcommUri, BadOptions) {
  EXPECT_NE(error_of("rfcomm://hci0:5?sec=ultra", role::listen).find("low, medium, high or fips"), std::string::npos);
  EXPECT_NE(error_of("rfcomm://hci0:5?lm=fast", role::listen).find("'fast' is not a link mode flag"),
            std::string::npos);
  EXPECT_NE(error_of("rfcomm://hci0:5?uuid=12345", role::listen).find("is not a UUID"), std::string::npos);
  EXPECT_NE(error_of("rfcomm://hci0:5?adapter=hci1", role::listen).find("adapter"), std::string::npos);
  EXPECT_NE(error_of("rfcomm://00:1A:7D:DA:71:13:5?adapter=wlan0", role::connect).find("names no adapter"),
            std::string::npos);
  EXPECT_EQ(parse_text("rfcomm://hci0:5?sec=ultra", role::listen).err().code, make_error_code(errc::bad_option));
  EXPECT_EQ(parse_text("rfcomm://hci0:99", role::listen).err().code, make_error_code(errc::bad_uri));
}

TEST(RfcommUuid, ShortLongAndBaseDerivedForms) {
  EXPECT_EQ(parse_uuid("1101"), serial_port_uuid);
  EXPECT_EQ(parse_uuid("0x1101"), serial_port_uuid);
  auto custom = parse_uuid("5c2f0e4a-9d1b-4c3e-8a5f-0123456789ab");
  ASSERT_TRUE(custom);
  EXPECT_FALSE(custom->is_short);
  EXPECT_EQ(format_uuid(*custom), "5C2F0E4A-9D1B-4C3E-8A5F-0123456789AB");
  EXPECT_EQ(format_uuid(serial_port_uuid), "0x1101");
  EXPECT_FALSE(parse_uuid("5c2f0e4a9d1b-4c3e-8a5f-0123456789ab"));
  EXPECT_FALSE(parse_uuid("110"));
  EXPECT_FALSE(parse_uuid("zz01"));
}

TEST(RfcommEndpoint, IsASockaddrRcForAsio) {
  bdaddr_t a = *parse_address("00:1A:7D:DA:71:13");
  rfcomm::endpoint ep(a, 5);
  EXPECT_EQ(ep.size(), sizeof(sockaddr_rc));
  EXPECT_EQ(ep.data()->sa_family, AF_BLUETOOTH);
  EXPECT_EQ(reinterpret_cast<const sockaddr_rc*>(ep.data())->rc_channel, 5);
  EXPECT_EQ(ep.protocol().protocol(), BTPROTO_RFCOMM);
  EXPECT_EQ(format_uri(ep.address(), ep.channel()), "rfcomm://00:1A:7D:DA:71:13:5");
  EXPECT_EQ(format_uri(any_address, 3), "rfcomm://any:3");
}

}  // namespace
