// The CAN examples (examples/can) on a real kernel, so they cannot rot: the
// responder answers can-utils' cansend (candump sees the reply), and the
// request example checks the responder's replies.
#include <signal.h>

#include <string>

#include "can_support.hpp"
#include "kernel_env.hpp"
#include "process.hpp"

using namespace std::chrono_literals;
using namespace anysock::test;

namespace {

class CanExamples : public kernel_test {
 protected:
  void SetUp() override {
    require({"ANYSOCK_CAN_IF0"});
    can0 = kernel_env("ANYSOCK_CAN_IF0");
  }
  std::string can0;
};

TEST_F(CanExamples, ResponderAnswersCansendAndTheRequestExample) {
  const std::string uri = "can://" + can0 + "?rx=321&tx=654";
  auto responder = child::spawn({EXAMPLE_CAN_RESPONDER, uri});
  auto ready = responder.read_line(60s);
  ASSERT_TRUE(ready) << responder.wait(5s).err;
  EXPECT_EQ(*ready, "answering on " + uri);

  // candump hears only replies; once it shows one (to a probe), cansend's
  // next request gets the next line.
  auto dump = candump_ready(can0, {can0 + ",654:7FF"}, "321#00");
  ASSERT_EQ(run({"cansend", can0, "321#C0FFEE"}, 30s).exit_code, 0);
  auto reply = dump.read_line(60s);
  ASSERT_TRUE(reply) << "candump showed no reply";
  EXPECT_EQ(reply->substr(reply->find(") ") + 2), can0 + " 654#C0FFEE");

  auto r = run({EXAMPLE_CAN_REQUEST, uri, "321#DEADBEEF", "321#11.22"}, 120s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "  " + can0 + "  654   [4]  DE AD BE EF\n  " + can0 + "  654   [2]  11 22\n");
  EXPECT_EQ(run({EXAMPLE_CAN_REQUEST, uri, "321#not-hex"}, 30s).exit_code, 2);

  responder.signal(SIGTERM);
  EXPECT_EQ(responder.wait(60s).exit_code, 0);
}

}  // namespace
