// Shared by the CAN kernel tests: the fixture's two buses, and can-utils'
// candump as a witness.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "kernel_env.hpp"
#include "process.hpp"

namespace anysock::test {

// A test on the harness's classic bus (can0) and CAN FD bus (canfd).
class can_buses_test : public kernel_test {
 protected:
  void SetUp() override {
    require({"ANYSOCK_CAN_IF0", "ANYSOCK_CAN_FD_IF"});
    can0 = kernel_env("ANYSOCK_CAN_IF0");
    canfd = kernel_env("ANYSOCK_CAN_FD_IF");
  }
  std::string can0, canfd;
};

// Starts candump -L with `args`, then sends `probe` with cansend until
// candump shows a line, so what follows is seen (candump may not have bound
// when it starts). The probe's reply, if one comes, may still be queued.
inline child candump_ready(const std::string& ifc, const std::vector<std::string>& args, const std::string& probe) {
  std::vector<std::string> argv{"candump", "-L"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto dump = child::spawn(argv);
  for (int i = 0; i < 60; ++i) {
    EXPECT_EQ(run({"cansend", ifc, probe}, std::chrono::seconds(30)).exit_code, 0);
    if (auto line = dump.read_line(std::chrono::seconds(1))) return dump;
  }
  ADD_FAILURE() << "candump never showed " << probe;
  return dump;
}

}  // namespace anysock::test
