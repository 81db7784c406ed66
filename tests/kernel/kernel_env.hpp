// For kernel-case tests: the fixtures (vcan interfaces, virtual Bluetooth
// controllers) come from tests/kernel/run-kernel-tests.sh, natively or in the
// guest, as environment variables. A test run outside it fails saying so.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <initializer_list>
#include <string>

namespace anysock::test {

inline std::string kernel_env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// Derive a fixture from this and list the variables the tests need; SetUp
// fails the test (so its body does not run) when one is missing.
class kernel_test : public ::testing::Test {
 protected:
  void require(std::initializer_list<const char*> names) {
    for (const char* n : names) {
      if (kernel_env(n).empty()) {
        FAIL() << n << " is not set: kernel-case tests need the fixtures of "
                       "tests/kernel/run-kernel-tests.sh; run `ctest -L '^kernel$'` instead";
      }
    }
  }
  // True inside the qemu guest (root, a kernel we chose, a private dmesg).
  static bool in_guest() { return kernel_env("ANYSOCK_KERNEL_HARNESS") == "guest"; }
};

// A test on the harness's two linked virtual Bluetooth controllers.
class bluetooth_test : public kernel_test {
 protected:
  void SetUp() override {
    require({"ANYSOCK_BT_HCI0", "ANYSOCK_BT_HCI1", "ANYSOCK_BT_ADDR0", "ANYSOCK_BT_ADDR1"});
    hci0 = kernel_env("ANYSOCK_BT_HCI0");
    hci1 = kernel_env("ANYSOCK_BT_HCI1");
    addr0 = kernel_env("ANYSOCK_BT_ADDR0");
    addr1 = kernel_env("ANYSOCK_BT_ADDR1");
  }

  std::string hci0, hci1, addr0, addr1;
};

}  // namespace anysock::test
