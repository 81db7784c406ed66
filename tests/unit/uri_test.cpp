// Generic URI reading: every accepted form, and one clear error per bad form.
#include <gtest/gtest.h>

#include "anysock/uri.hpp"

using namespace anysock;

TEST(Uri, ParsesSchemeAuthorityPathAndQuery) {
  auto u = parse_uri("TCP://[::1]:50007/x?v6only=1&nodelay=0&flag");
  ASSERT_TRUE(u) << u.err().message;
  EXPECT_EQ(u->scheme, "tcp");
  EXPECT_EQ(u->authority, "[::1]:50007");
  EXPECT_EQ(u->path, "/x");
  ASSERT_EQ(u->query.size(), 3u);
  EXPECT_EQ(u->option("v6only"), "1");
  EXPECT_EQ(u->option("nodelay"), "0");
  EXPECT_EQ(u->option("flag"), "1");  // a bare key means on
  EXPECT_FALSE(u->option("missing"));
}

TEST(Uri, KeepsForeignAuthoritiesWhole) {
  // RFCOMM addresses have colons of their own; core must not split them.
  auto u = parse_uri("rfcomm://00:1A:7D:DA:71:13:5");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->authority, "00:1A:7D:DA:71:13:5");
  auto c = parse_uri("can://vcan0?rx=123&tx=456");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->authority, "vcan0");
  EXPECT_EQ(c->option("tx"), "456");
}

struct bad_case {
  const char* text;
  const char* says;
};

class BadUri : public testing::TestWithParam<bad_case> {};

TEST_P(BadUri, GivesOneClearLine) {
  auto [text, says] = GetParam();
  auto u = parse_uri(text);
  std::string msg;
  if (!u) {
    msg = u.err().message;
    EXPECT_EQ(u.err().code, make_error_code(errc::bad_uri));
  } else {
    auto hp = split_host_port(*u, "tcp://[::1]:50007");
    ASSERT_FALSE(hp) << text << " was accepted";
    msg = hp.err().message;
  }
  EXPECT_NE(msg.find(says), std::string::npos) << "message was: " << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line, not several";
  EXPECT_NE(msg.find(text), std::string::npos) << "the message quotes the input";
}

INSTANTIATE_TEST_SUITE_P(
    Forms, BadUri,
    testing::Values(bad_case{"", "empty"}, bad_case{"[::1]:50007", "no '://'"},
                    bad_case{"1tcp://x:1", "scheme"}, bad_case{"tcp://", "nothing after"},
                    bad_case{"tcp://[::1", "missing ']'"}, bad_case{"tcp://[::1]", "no port"},
                    bad_case{"tcp://[::1]50007", "no port"}, bad_case{"tcp://localhost", "no port"},
                    bad_case{"tcp://localhost:", "empty port"}, bad_case{"tcp://:50007", "empty host"},
                    bad_case{"tcp://[]:50007", "empty host"}, bad_case{"tcp://::1:50007", "brackets"},
                    bad_case{"tcp://[::1]:70000", "out of range"},
                    bad_case{"tcp://[::1]:99999999999999999999", "not a number"},
                    bad_case{"tcp://[::1]:-1", "not a number"}, bad_case{"tcp://[::1]:http", "not a number"},
                    bad_case{"tcp://x:1?=3", "no name"}));

TEST(Uri, HostPortForms) {
  struct {
    const char* text;
    const char* host;
    std::uint16_t port;
  } cases[] = {{"tcp://[::1]:50007", "::1", 50007},     {"tcp://[::]:0", "::", 0},
               {"tcp://localhost:50007", "localhost", 50007}, {"tcp://0.0.0.0:7", "0.0.0.0", 7},
               {"tcp://[::ffff:127.0.0.1]:65535", "::ffff:127.0.0.1", 65535}};
  for (auto& c : cases) {
    auto u = parse_uri(c.text);
    ASSERT_TRUE(u) << c.text;
    auto hp = split_host_port(*u, "x");
    ASSERT_TRUE(hp) << c.text << ": " << hp.err().message;
    EXPECT_EQ(hp->host, c.host);
    EXPECT_EQ(hp->port, c.port);
  }
}

TEST(Uri, JoinBracketsIpv6) {
  EXPECT_EQ(join_host_port("::1", 7), "[::1]:7");
  EXPECT_EQ(join_host_port("127.0.0.1", 7), "127.0.0.1:7");
}

TEST(UriOptions, UnknownKeyListsTheKnownOnes) {
  auto u = parse_uri("tcp://[::1]:1?v6onyl=1");
  ASSERT_TRUE(u);
  auto r = check_options(*u, {"v6only", "nodelay"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().code, make_error_code(errc::bad_option));
  EXPECT_NE(r.err().message.find("'v6onyl'"), std::string::npos);
  EXPECT_NE(r.err().message.find("v6only, nodelay"), std::string::npos);
}

TEST(UriOptions, BooleansAndNumbers) {
  auto u = parse_uri("x://h?a=on&b=no&c=maybe&n=42&m=4x");
  ASSERT_TRUE(u);
  EXPECT_TRUE(*bool_option(*u, "a", false));
  EXPECT_FALSE(*bool_option(*u, "b", true));
  EXPECT_TRUE(*bool_option(*u, "absent", true));
  auto c = bool_option(*u, "c", false);
  ASSERT_FALSE(c);
  EXPECT_NE(c.err().message.find("c=1 or c=0"), std::string::npos);
  EXPECT_EQ(*uint_option(*u, "n", 0, 1, 100), 42u);
  EXPECT_FALSE(uint_option(*u, "n", 0, 1, 10));
  EXPECT_FALSE(uint_option(*u, "m", 0, 0, 100));
  EXPECT_EQ(*uint_option(*u, "absent", 7, 0, 100), 7u);
}

// Found by tests/fuzz/uri_fuzz: a control byte reached the error line as is.
TEST(Uri, RefusesControlBytesAndQuotesThemEscaped) {
  auto u = parse_uri(std::string("tcp://[::1]:1?a=\n\x1b[2J"));
  ASSERT_FALSE(u);
  EXPECT_EQ(u.err().message.find('\n'), std::string::npos) << u.err().message;
  EXPECT_EQ(u.err().message.find('\x1b'), std::string::npos) << u.err().message;
  EXPECT_NE(u.err().message.find("control byte \\x0A at position 16"), std::string::npos) << u.err().message;
}
