// `anysock bridge A B` over Bluetooth RFCOMM on a real kernel, between the
// harness's two virtual controllers: TCP in, RFCOMM out to a Python
// AF_BLUETOOTH echo on controller 1; and RFCOMM in (listening on
// controller 0, reached by a Python client from controller 1), TCP out to
// `anysock serve`.
#include <signal.h>

#include <cstdio>
#include <string>
#include <vector>

#include "bridge_support.hpp"
#include "rfcomm_support.hpp"

using namespace std::chrono_literals;
using namespace anysock::test;

namespace {

const std::string peer_script = std::string(ANYSOCK_SOURCE_DIR) + "/tests/peers/seed_client_rfcomm.py";

// An RFCOMM echo nobody here wrote the transport of: Python's own
// AF_BLUETOOTH socket, one link after another, each reported with its
// total when it ends.
constexpr const char* python_echo = R"(
import socket, sys
srv = socket.socket(socket.AF_BLUETOOTH, socket.SOCK_STREAM, socket.BTPROTO_RFCOMM)
srv.bind((sys.argv[1], int(sys.argv[2])))
srv.listen(1)
print("ready", flush=True)
while True:
    c, peer = srv.accept()
    print("link from", peer[0], flush=True)
    total = 0
    try:
        while True:
            d = c.recv(65536)
            if not d:
                break
            c.sendall(d)
            total += len(d)
    except OSError as e:
        print("link error:", e, flush=True)
    c.close()
    print("echoed", total, flush=True)
)";

class BridgeRfcomm : public rfcomm_test {};

TEST_F(BridgeRfcomm, TcpClientThroughBluetoothToAPythonEcho) {
  constexpr int ch = 24;
  auto echo = child::spawn({system_python, "-c", python_echo, addr1, std::to_string(ch)});
  ASSERT_EQ(echo.read_line(60s).value_or("<nothing>"), "ready") << echo.wait(5s).err;
  auto br = bridge_process::start(
      {"tcp://[::1]:0", "rfcomm://" + addr1 + ":" + std::to_string(ch) + "?adapter=" + hci0});
  ASSERT_TRUE(br.started);
  // The seed's text, and 40000 bytes in one message (more than the
  // window send keeps in flight, so it crosses in pieces both ways).
  std::string big;
  for (int i = 0; i < 40000; ++i) big += static_cast<char>('A' + i % 23);
  auto r = run_anysock({"send", "tcp://[::1]:" + std::to_string(br.port()), "über Bluetooth", big, "--timeout", "90"},
                       300s);
  EXPECT_EQ(r.exit_code, 0) << r.err << "\nbridge:\n" << br.joined();
  EXPECT_EQ(r.out.substr(0, r.out.find('\n') + 1), "über Bluetooth\n") << r.out.substr(0, 200);
  // The client's link ended, so the bridge closes its RFCOMM link: the echo
  // saw every byte once.
  const std::size_t sent = std::string("über Bluetooth").size() + big.size();
  std::string said;
  while (said.find("echoed ") == std::string::npos) {
    auto line = echo.read_line(120s);
    if (!line) break;
    said += *line + "\n";
  }
  EXPECT_NE(said.find("link from " + addr0 + "\n"), std::string::npos) << said;
  EXPECT_NE(said.find("echoed " + std::to_string(sent) + "\n"), std::string::npos) << said << br.joined();
  auto b = br.stop();
  EXPECT_EQ(b.exit_code, 0) << b.out;
  EXPECT_EQ(bridge_ends(b.out).size(), 1u) << b.out;
  EXPECT_EQ(drops_reported(b.out), 0) << b.out;
  echo.signal(SIGTERM);
  echo.wait(10s);
}

// A (listened on, as serve does) named by the adapter's address: the
// Python client's seed messages and a 256 KiB stream come back from our TCP
// echo behind the bridge.
TEST_F(BridgeRfcomm, PythonRfcommClientThroughTheBridgeToOurTcpEcho) {
  constexpr int ch = 25;
  auto far = serve_process::start({"tcp://[::1]:0"});
  ASSERT_EQ(far.bound.size(), 1u);
  const std::string a = "rfcomm://" + addr0 + ":" + std::to_string(ch);
  auto br = bridge_process::start({a, "tcp://[::1]:" + std::to_string(far.port())});
  ASSERT_TRUE(br.started);
  EXPECT_EQ(br.bound, std::vector<std::string>{a});
  auto r = run({system_python, peer_script, addr0, std::to_string(ch), "--from", addr1, "--stream", "262144",
                "--window", "16384"},
               300s);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err << "\nbridge:\n" << br.joined();
  EXPECT_NE(r.out.find("Received Hello, world\nReceived 汉语/漢語 Hànyǔ\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("streamed 262144 bytes"), std::string::npos) << r.out;
  std::printf("python RFCOMM client through the bridge: %s", r.out.c_str());
  auto b = br.stop();
  EXPECT_EQ(b.exit_code, 0) << b.out;
  EXPECT_EQ(bridge_ends(b.out).size(), 1u) << b.out;
  EXPECT_EQ(drops_reported(b.out), 0) << b.out;
  auto f = far.stop();
  EXPECT_EQ(f.exit_code, 0) << f.err;
}

// A named by the adapter's name, as serve takes it (and as the README's
// `anysock bridge rfcomm://hci0:3 tcp://host:2000` does): bound on that
// adapter's address, and a Python client's seed messages come back.
TEST_F(BridgeRfcomm, ListensOnAnAdapterNamedByName) {
  constexpr int ch = 26;
  auto far = serve_process::start({"tcp://[::1]:0"});
  ASSERT_EQ(far.bound.size(), 1u);
  auto br = bridge_process::start(
      {"rfcomm://" + hci0 + ":" + std::to_string(ch), "tcp://[::1]:" + std::to_string(far.port())});
  ASSERT_TRUE(br.started);
  EXPECT_EQ(br.bound, std::vector<std::string>{"rfcomm://" + addr0 + ":" + std::to_string(ch)});
  auto r = run({system_python, peer_script, addr0, std::to_string(ch), "--from", addr1}, 300s);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err << "\nbridge:\n" << br.joined();
  EXPECT_NE(r.out.find("Received Hello, world\nReceived 汉语/漢語 Hànyǔ\n"), std::string::npos) << r.out;
  auto b = br.stop();
  EXPECT_EQ(b.exit_code, 0) << b.out;
}

}  // namespace

#ifdef EXAMPLE_TCP_RFCOMM_BRIDGE
// examples/bridge: the library's bridge in a page, ser2net's job — a TCP
// client's messages reach the Python echo over Bluetooth and come back.
TEST_F(BridgeRfcomm, TheExampleBridgesTcpClientsToTheDevice) {
  constexpr int ch = 27;
  auto echo = child::spawn({system_python, "-c", python_echo, addr1, std::to_string(ch)});
  ASSERT_EQ(echo.read_line(60s).value_or("<nothing>"), "ready") << echo.wait(5s).err;
  auto ex = child::spawn({EXAMPLE_TCP_RFCOMM_BRIDGE, "tcp://[::1]:0",
                          "rfcomm://" + addr1 + ":" + std::to_string(ch) + "?adapter=" + hci0});
  auto line = ex.read_line(60s);
  ASSERT_TRUE(line && line->rfind("bridging tcp://[::1]:", 0) == 0) << line.value_or("<nothing>") << ex.wait(5s).err;
  const auto uri = line->substr(9, line->find(" to ") - 9);
  auto r = run_anysock({"send", uri, "--timeout", "90"}, 300s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Hello, world\n汉语/漢語 Hànyǔ\n");
  ex.signal(SIGTERM);
  auto done = ex.wait(60s);
  EXPECT_EQ(done.exit_code, 0) << done.err;
  echo.signal(SIGTERM);
  echo.wait(10s);
}
#endif
