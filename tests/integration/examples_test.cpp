// The examples are code users copy: they must keep working.
#include <gtest/gtest.h>
#include <signal.h>

#include "process.hpp"

using namespace anysock::test;
using namespace std::chrono_literals;

TEST(Examples, TcpServerAndClientTalk) {
  auto server = child::spawn({EXAMPLE_TCP_ECHO_SERVER, "tcp://[::1]:0"});
  auto line = server.read_line(20s);
  ASSERT_TRUE(line) << server.wait(1s).err;
  ASSERT_EQ(line->rfind("echoing on tcp://[::1]:", 0), 0u) << *line;
  auto uri = line->substr(std::string("echoing on ").size());
  auto client = run({EXAMPLE_TCP_ECHO_CLIENT, uri}, 30s);
  EXPECT_EQ(client.exit_code, 0) << client.err;
  EXPECT_EQ(client.out, "Received Hello, world\nReceived 汉语/漢語 Hànyǔ\n");
  server.signal(SIGINT);
  auto r = server.wait(20s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(Examples, ClientReportsRefusal) {
  auto client = run({EXAMPLE_TCP_ECHO_CLIENT, "tcp://[::1]:1"}, 30s);
  EXPECT_EQ(client.exit_code, 3);
  EXPECT_NE(client.err.find("refused"), std::string::npos) << client.err;
}
