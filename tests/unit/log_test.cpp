// What the logs print of untrusted bytes.
#include <gtest/gtest.h>

#include "anysock/log.hpp"

using namespace anysock;

TEST(Printable, EscapesControlBytesKeepsUtf8) {
  EXPECT_EQ(printable("汉语 ok\n\x01"), "汉语 ok\\n\\x01");
  EXPECT_EQ(printable(std::string(300, 'a'), 4), "aaaa... (296 more bytes)");
}
