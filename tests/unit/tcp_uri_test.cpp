// tcp:// as the TCP transport reads it.
#include <gtest/gtest.h>

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
