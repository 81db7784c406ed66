// The RFCOMM example server (examples/rfcomm) on the harness's virtual
// controllers, so it cannot rot: Python's own AF_BLUETOOTH socket and our
// client both get the seed's messages back.
#include <signal.h>

#include <optional>
#include <string>

#include "rfcomm_support.hpp"

using namespace std::chrono_literals;
using namespace anysock::test;

namespace {

class RfcommExamples : public rfcomm_test {};

TEST_F(RfcommExamples, EchoServerAnswersPythonAndOurClient) {
  auto server = child::spawn({EXAMPLE_RFCOMM_ECHO_SERVER, "rfcomm://" + hci0 + ":12"});
  // Without bluetoothd it warns first that no SDP record went out.
  std::optional<std::string> ready;
  for (int i = 0; i < 5 && !(ready && ready->rfind("echoing on ", 0) == 0); ++i) ready = server.read_line(60s);
  ASSERT_TRUE(ready) << server.wait(5s).err;
  EXPECT_EQ(*ready, "echoing on rfcomm://" + addr0 + ":12");

  const std::string python_client = std::string(ANYSOCK_SOURCE_DIR) + "/tests/peers/seed_client_rfcomm.py";
  auto py = run({system_python, python_client, addr0, "12", "--from", addr1}, 180s);
  EXPECT_EQ(py.exit_code, 0) << py.out << py.err;
  EXPECT_NE(py.out.find("Received Hello, world\nReceived 汉语/漢語 Hànyǔ\n"), std::string::npos) << py.out;

  forget_keys();  // the next link pairs afresh, as every test's first one does
  auto r = run_anysock({"send", client_uri(12), "--timeout", "60"}, 180s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Hello, world\n汉语/漢語 Hànyǔ\n");

  server.signal(SIGTERM);
  EXPECT_EQ(server.wait(60s).exit_code, 0);
}

}  // namespace
