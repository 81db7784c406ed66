// tcp:// as the TCP transport reads it, and what the registry says about it.
#include <gtest/gtest.h>

#include "anysock/builtin_transports.hpp"
#include "anysock/log.hpp"
#include "anysock/tcp/tcp.hpp"

using namespace anysock;

TEST(TcpUri, DefaultsAndOptions) {
  auto u = parse_uri("tcp://[::]:50007");
  auto s = tcp::parse(*u);
  ASSERT_TRUE(s) << s.err().message;
  EXPECT_EQ(s->host, "::");
  EXPECT_EQ(s->port, 50007);
  EXPECT_TRUE(s->opts.nodelay) << "TCP_NODELAY is on unless asked otherwise";
  EXPECT_FALSE(s->opts.v6only) << "[::] is dual-stack unless asked otherwise";

  auto v = tcp::parse(*parse_uri("tcp://[::]:1?v6only=1&nodelay=0&backlog=16"));
  ASSERT_TRUE(v) << v.err().message;
  EXPECT_TRUE(v->opts.v6only);
  EXPECT_FALSE(v->opts.nodelay);
  EXPECT_EQ(v->opts.backlog, 16);
}

TEST(TcpUri, RejectsWhatItCannotUse) {
  for (const char* text : {"tcp://[::1]:1?bogus=1", "tcp://[::1]:1?v6only=maybe", "tcp://[::1]:1/path",
                           "tcp://[not-an-address]:1", "tcp://[::1]:1?backlog=0"}) {
    auto s = tcp::parse(*parse_uri(text));
    ASSERT_FALSE(s) << text << " was accepted";
    EXPECT_NE(s.err().message.find(text), std::string::npos) << s.err().message;
  }
}

TEST(Registry, ResolvesTcpAndNamesTheKnownSchemes) {
  registry reg;
  add_builtin_transports(reg);
  ASSERT_TRUE(reg.resolve(*parse_uri("tcp://[::1]:1")));
  auto r = reg.resolve(*parse_uri("udp://[::1]:1"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().code, make_error_code(errc::unknown_scheme));
  EXPECT_NE(r.err().message.find("tcp://"), std::string::npos) << r.err().message;
  auto help = reg.describe();
  EXPECT_NE(help.find("tcp://[::]:50007"), std::string::npos) << "each scheme has an example";
}

TEST(Printable, EscapesControlBytesKeepsUtf8) {
  EXPECT_EQ(printable("汉语 ok\n\x01"), "汉语 ok\\n\\x01");
  EXPECT_EQ(printable(std::string(300, 'a'), 4), "aaaa... (296 more bytes)");
}
