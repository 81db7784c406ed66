// mqtt://'s payloads and URIs without a broker: the binary format's byte
// layout (as the README's table gives it), round trips of every frame kind,
// each malformed payload refused with its reason, and the URI's checks.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <string>
#include <vector>

#include "anysock/can/mqtt_payload.hpp"
#include "anysock/can/mqtt_uri.hpp"

namespace {

namespace mqtt = anysock::can::mqtt;
using anysock::can::frame;
using anysock::can::parse_frame;

std::vector<std::uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

anysock::result<mqtt::payload> decoded(const std::string& s, mqtt::payload_format f = mqtt::payload_format::bin) {
  const auto b = bytes_of(s);
  return mqtt::decode(b, f);
}

std::string hex(const std::string& s) {
  std::string out;
  for (unsigned char c : s) out += fmt::format("{:02X}", c);
  return out;
}

TEST(MqttPayload, LayoutIsTheDocumentedOne) {
  auto f = parse_frame("123#DEADBEEF").value();
  EXPECT_EQ(hex(mqtt::encode_frame(f, 0x0102030405060708ull)), "01000000000001230102030405060708DEADBEEF");
  auto x = parse_frame("12345678##3AABB").value();  // FD with BRS and ESI, 29-bit
  EXPECT_EQ(hex(mqtt::encode_frame(x, 1)), "0107000092345678" "0000000000000001" "AABB");
  auto r = parse_frame("7DF#R5").value();  // a remote request for 5 bytes
  EXPECT_EQ(hex(mqtt::encode_frame(r, 0)), "01000005400007DF" "0000000000000000");
  auto l = parse_frame("123#1122334455667788_E").value();
  EXPECT_EQ(hex(mqtt::encode_frame(l, 0)).substr(0, 8), "01000E00");
  EXPECT_EQ(hex(mqtt::encode_message("hi", 0)), "01080000000000000000000000000000" "6869");
}

TEST(MqttPayload, EveryFrameKindRoundTrips) {
  for (const char* text : {"123#", "123#DEADBEEF", "1FFFFFFF#0011223344556677", "123##1" "00112233445566778899AABB",
                           "123##0", "7DF#R", "7DF#R8", "123#1122334455667788_9"}) {
    auto f = parse_frame(text).value();
    auto p = decoded(mqtt::encode_frame(f, 42));
    ASSERT_TRUE(p) << text << ": " << p.err().message;
    EXPECT_FALSE(p->is_message);
    EXPECT_EQ(anysock::can::format_frame(p->f), anysock::can::format_frame(f)) << text;
    EXPECT_EQ(p->micros, 42u);
    auto t = decoded(mqtt::encode_text(f), mqtt::payload_format::candump);
    ASSERT_TRUE(t) << text;
    EXPECT_EQ(anysock::can::format_frame(t->f), anysock::can::format_frame(f)) << text;
  }
  std::string big(mqtt::max_message, 'x');
  auto m = decoded(mqtt::encode_message(big, 7));
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->is_message);
  EXPECT_EQ(m->bytes, big);
}

TEST(MqttPayload, MalformedPayloadsAreRefusedWithTheReason) {
  auto f = parse_frame("123#DEADBEEF").value();
  const std::string good = mqtt::encode_frame(f, 0);
  auto why = [](const std::string& s) {
    auto p = decoded(s);
    return p ? std::string("accepted") : p.err().message;
  };
  EXPECT_NE(why(good.substr(0, 15)).find("shorter than the 16-byte header"), std::string::npos);
  EXPECT_NE(why(std::string(1, '\x02') + good.substr(1)).find("payload version 2"), std::string::npos);
  EXPECT_NE(why(good.substr(0, 1) + "\x40" + good.substr(2)).find("unknown flags 0x40"), std::string::npos);
  EXPECT_NE(why(good + "123456789").find("13 data bytes"), std::string::npos);
  EXPECT_NE(why(good.substr(0, 1) + "\x01" + good.substr(2) + "12345").find("9 data bytes"), std::string::npos);
  EXPECT_NE(why(good.substr(0, 1) + "\x02" + good.substr(2)).find("BRS or ESI set on a classic frame"),
            std::string::npos);
  std::string over_sff = good;
  over_sff[6] = '\x08';  // ID 0x823 without the extended flag
  EXPECT_NE(why(over_sff).find("over 7FF"), std::string::npos);
  EXPECT_NE(why(mqtt::encode_message(std::string(mqtt::max_message + 1, 'x'), 0)).find("4096-byte message"),
            std::string::npos);
  std::string remote_with_data = mqtt::encode_frame(parse_frame("7DF#R2").value(), 0) + "ab";
  EXPECT_NE(why(remote_with_data).find("remote request carries no data"), std::string::npos);
  auto t = decoded("not a frame", mqtt::payload_format::candump);
  EXPECT_FALSE(t);
}

anysock::result<mqtt::bus_config> bus(const std::string& text, bool bridge = false) {
  return mqtt::parse_bus(anysock::parse_uri(text).value(), bridge);
}

TEST(MqttUri, BrokerBusAndNode) {
  auto c = bus("mqtt://127.0.0.1/fleet/rig7-can0?node=rig7");
  ASSERT_TRUE(c) << c.err().message;
  EXPECT_EQ(c->port, 1883);
  EXPECT_EQ(c->bus, "fleet/rig7-can0");
  EXPECT_EQ(c->frame_topic(), "fleet/rig7-can0/f/rig7");
  EXPECT_EQ(c->subscription(), "fleet/rig7-can0/f/+");
  EXPECT_EQ(c->status_topic(), "fleet/rig7-can0/status/rig7");
  EXPECT_EQ(c->version, 5);
  EXPECT_EQ(c->qos, 0);
  auto v6 = bus("mqtt://[::1]:18830/bus?version=3.1.1&qos=1&format=candump");
  ASSERT_TRUE(v6) << v6.err().message;
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 18830);
  EXPECT_EQ(v6->version, 4);
  EXPECT_EQ(v6->format, mqtt::payload_format::candump);
  EXPECT_FALSE(mqtt::default_node().empty());
  EXPECT_EQ(bus("mqtt://h/b")->node, mqtt::default_node());
}

TEST(MqttUri, MistakesAreOneLineEach) {
  auto err = [](const std::string& text, bool bridge = false) {
    auto c = bus(text, bridge);
    return c ? std::string("accepted") : c.err().message;
  };
  EXPECT_NE(err("mqtt://h").find("name the bus's topic"), std::string::npos);
  EXPECT_NE(err("mqtt://h/fleet/+").find("not a topic to publish on"), std::string::npos);
  EXPECT_NE(err("mqtt://h/fleet//x").find("not a topic to publish on"), std::string::npos);
  EXPECT_NE(err("mqtt://h:0/b").find("port 0 names no server"), std::string::npos);
  EXPECT_NE(err("mqtt://h/b?node=a/b").find("node='a/b'"), std::string::npos);
  EXPECT_NE(err("mqtt://h/b?qos=2").find("qos"), std::string::npos);
  EXPECT_NE(err("mqtt://h/b?version=6").find("version=6"), std::string::npos);
  EXPECT_NE(err("mqtt://h/b?format=json").find("format=json"), std::string::npos);
  EXPECT_NE(err("mqtt://h/b?kind=messages&format=candump").find("needs format=bin"), std::string::npos);
  EXPECT_NE(err("mqtt://h/b?kind=messages&rx=123", true).find("kind=messages carries messages"), std::string::npos);
  EXPECT_NE(err("mqtt://h/b?expiry=5").find("for qos=1"), std::string::npos);
  EXPECT_NE(err("mqtt://h/b?bogus=1").find("bogus"), std::string::npos);
  EXPECT_NE(err("mqtt://h/b?rx=800000000").find("rx"), std::string::npos);
}

TEST(MqttUri, ABridgeTakesEveryFrameAndCarriesFd) {
  auto c = bus("mqtt://h/b", true);
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->frames.fd);
  EXPECT_TRUE(c->frames.is_request(0x123));
  EXPECT_FALSE(bus("mqtt://h/b?fd=0", true)->frames.fd);
  auto m = bus("mqtt://h/b?kind=messages", true);
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->messages);
}

}  // namespace
