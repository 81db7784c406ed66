// The socketcand discovery beacon's text (byte-exact: SavvyCAN and Kayak
// parse it as XML) and --beacon-to's parsing.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "anysock/can/socketcand_beacon.hpp"

namespace sc = anysock::can::socketcand;

namespace {

TEST(SocketcandBeacon, TwoBusesInUpstreamsShape) {
  EXPECT_EQ(sc::beacon_xml("pi", "anysock socketcand", "can://10.0.0.5:29536", {"vcan0", "can1"}),
            R"(<CANBeacon name="pi" type="SocketCAN" description="anysock socketcand">)"
            R"(<URL>can://10.0.0.5:29536</URL><Bus name="vcan0"/><Bus name="can1"/></CANBeacon>)");
}

TEST(SocketcandBeacon, NoBusesStillAWholeDocument) {
  EXPECT_EQ(sc::beacon_xml("h", "", "can://[::1]:1", {}),
            R"(<CANBeacon name="h" type="SocketCAN" description=""><URL>can://[::1]:1</URL></CANBeacon>)");
}

TEST(SocketcandBeacon, EveryValueIsEscaped) {
  EXPECT_EQ(sc::beacon_xml(R"(a&b<c>d"e'f)", R"(<"'&>)", "can://x&y:1", {R"(b"1)", "b<2>"}),
            R"(<CANBeacon name="a&amp;b&lt;c&gt;d&quot;e&apos;f" type="SocketCAN" )"
            R"(description="&lt;&quot;&apos;&amp;&gt;"><URL>can://x&amp;y:1</URL>)"
            R"(<Bus name="b&quot;1"/><Bus name="b&lt;2&gt;"/></CANBeacon>)");
}

TEST(SocketcandBeacon, WhitespaceAndControlCharacters) {
  EXPECT_EQ(sc::xml_escape("a\tb\nc\rd\x01" "e\x7f" "f \xc3\xa9"), "a&#9;b&#10;c&#13;d?e\x7f" "f \xc3\xa9");
  EXPECT_EQ(sc::xml_escape(""), "");
  EXPECT_EQ(sc::xml_escape("&amp;"), "&amp;amp;");
}

TEST(SocketcandBeacon, BeaconToTakesAddressesAndNames) {
  auto v4 = sc::parse_beacon_to("255.255.255.255:42000");
  ASSERT_TRUE(v4) << v4.err().message;
  EXPECT_EQ(v4->address().to_string(), "255.255.255.255");
  EXPECT_EQ(v4->port(), 42000);
  auto v6 = sc::parse_beacon_to("[ff02::1]:42001");
  ASSERT_TRUE(v6) << v6.err().message;
  EXPECT_EQ(v6->address().to_string(), "ff02::1");
  EXPECT_EQ(v6->port(), 42001);
  auto name = sc::parse_beacon_to("localhost:5");
  ASSERT_TRUE(name) << name.err().message;
  EXPECT_TRUE(name->address().is_loopback());
}

TEST(SocketcandBeacon, BadBeaconToIsOneLine) {
  for (const char* bad : {"", "nonsense", "1.2.3.4", "1.2.3.4:0", "1.2.3.4:70000", "1.2.3.4:x", "::1:5",
                          "1.2.3.4:5/path"}) {
    auto r = sc::parse_beacon_to(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.err().code, anysock::make_error_code(anysock::errc::bad_option)) << bad;
    EXPECT_EQ(r.err().message.rfind("--beacon-to '", 0), 0u) << r.err().message;
    EXPECT_EQ(r.err().message.find('\n'), std::string::npos) << r.err().message;
    EXPECT_NE(r.err().message.find("write HOST:PORT"), std::string::npos) << r.err().message;
  }
}

TEST(SocketcandBeacon, DefaultsAreUpstreams) {
  const sc::beacon_config c;
  EXPECT_EQ(c.to.address().to_string(), "255.255.255.255");
  EXPECT_EQ(c.to.port(), 42000);
  EXPECT_EQ(c.every, std::chrono::seconds(3));
}

}  // namespace
