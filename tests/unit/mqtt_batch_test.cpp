// The QoS 0 batch writer of mqtt://: PUBLISH packets framed byte for byte
// as MQTT 3.1.1 and 5 have them, a socket that takes part of a batch, and
// the bound on what waits.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "anysock/can/mqtt_batch.hpp"

namespace {

using anysock::can::mqtt::publish_batch;

// A connected pair; reads all that is there from the far end.
struct socket_pair {
  int fd[2]{-1, -1};
  socket_pair() {
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fd), 0);
    int small = 4096;
    setsockopt(fd[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  }
  ~socket_pair() {
    close(fd[0]);
    close(fd[1]);
  }
  std::string drain() {
    std::string out;
    char b[65536];
    for (ssize_t n; (n = read(fd[1], b, sizeof b)) > 0;) out.append(b, static_cast<std::size_t>(n));
    return out;
  }
};

TEST(MqttBatch, PublishPacketsAreFramedAsEachVersionHasThem) {
  socket_pair p;
  publish_batch v5("t/f/n", true), v3("t/f/n", false);
  ASSERT_TRUE(v5.add("ab"));
  ASSERT_TRUE(v5.write_to(p.fd[0]));
  EXPECT_EQ(p.drain(), std::string("\x30\x0a\x00\x05t/f/n\x00" "ab", 12));
  ASSERT_TRUE(v3.add("ab"));
  ASSERT_TRUE(v3.write_to(p.fd[0]));
  EXPECT_EQ(p.drain(), std::string("\x30\x09\x00\x05t/f/nab", 11));
  // A remaining length over 127 takes two bytes: 2 + 5 + 1 + 200 = 208.
  ASSERT_TRUE(v5.add(std::string(200, 'x')));
  ASSERT_TRUE(v5.write_to(p.fd[0]));
  const std::string big = p.drain();
  ASSERT_EQ(big.size(), 211u);
  EXPECT_EQ(big.substr(0, 3), std::string("\x30\xd0\x01", 3));
  EXPECT_TRUE(v5.empty());
}

TEST(MqttBatch, ASocketThatTakesPartKeepsTheRestInOrder) {
  socket_pair p;
  publish_batch b("bus/f/node", true);
  std::string want;
  for (int i = 0; i < 2000; ++i) {
    const std::string payload = "frame " + std::to_string(i);
    ASSERT_TRUE(b.add(payload));
    want += '\x30';
    want += static_cast<char>(2 + 10 + 1 + payload.size());
    want += std::string("\x00\x0a" "bus/f/node\x00", 13) + payload;
  }
  EXPECT_EQ(b.waiting(), 2000u);
  std::string got;
  for (int turns = 0; !b.empty() && turns < 10000; ++turns) {
    ASSERT_TRUE(b.write_to(p.fd[0]));
    got += p.drain();
    EXPECT_LE(b.waiting(), 2000u);
  }
  got += p.drain();
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.waiting(), 0u);
  EXPECT_EQ(got, want);
}

TEST(MqttBatch, WhatWaitsIsBoundedAndAClosedPeerIsAnError) {
  publish_batch b("t", false, 100);
  int added = 0;
  while (b.add("0123456789")) ++added;
  EXPECT_GT(added, 0);
  EXPECT_LT(added, 20) << "at most the limit, plus one packet";
  socket_pair p;
  close(p.fd[1]);
  p.fd[1] = -1;
  EXPECT_FALSE(b.write_to(p.fd[0]));
  b.clear();
  EXPECT_TRUE(b.empty());
  EXPECT_TRUE(b.add("again"));
}

}  // namespace
