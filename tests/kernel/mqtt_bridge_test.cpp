// `anysock bridge` between SocketCAN and mqtt:// on a real kernel and a real
// mosquitto the test starts: a cansend frame is one message on the topic
// (mosquitto_sub), frames from mosquitto_pub and python3-paho-mqtt reach
// the bus once (candump) and never come back; two bridges carry a bus to
// another through the broker on MQTT 5 and 3.1.1, every cangen frame once,
// in order; ISO-TP messages of 4095 bytes cross (isotpsend to isotprecv).
#include <algorithm>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "bridge_support.hpp"
#include "kernel_env.hpp"
#include "mosquitto_broker.hpp"

using namespace std::chrono_literals;
using namespace anysock::test;

namespace {

constexpr const char* system_python = "/usr/bin/python3";

class MqttBridge : public can_buses_test {};

child subscribe(const mosquitto_broker& b, const std::string& topic, int count, int wait_s = 30) {
  return child::spawn({"mosquitto_sub", "-h", "127.0.0.1", "-p", std::to_string(b.port()), "-t", topic, "-F",
                       "%t %x", "-C", std::to_string(count), "-W", std::to_string(wait_s)});
}

std::size_t lines(const std::string& s) { return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n')); }

TEST_F(MqttBridge, FramesReachTheTopicAndTheBusOnceAndNeverComeBack) {
  mosquitto_broker broker;
  auto d0 = bus_dump::start(can0);
  auto br = bridge_process::start({"can://" + can0, broker.uri("fleet/rig7") + "?node=rig7"});
  ASSERT_TRUE(br.started);
  ASSERT_TRUE(br.wait_for("bridging ", 60s)) << br.joined();
  // A frame on the bus: exactly one message on the topic, in the documented layout.
  auto sub = subscribe(broker, "fleet/rig7/f/+", 2, 5);
  std::this_thread::sleep_for(1s);
  ASSERT_EQ(run({"cansend", can0, "123#DEADBEEF"}, 30s).exit_code, 0);
  auto seen = sub.wait(30s);
  EXPECT_EQ(lines(seen.out), 1u) << seen.out;
  EXPECT_EQ(seen.out.rfind("fleet/rig7/f/rig7 0100000000000123", 0), 0u) << seen.out;
  EXPECT_NE(seen.out.find("deadbeef\n"), std::string::npos) << seen.out;

  // Frames others publish reach the bus once: mosquitto_pub's file, paho's.
  EXPECT_EQ(publish_file(broker, "fleet/rig7/f/laptop", bin_frame(0x456, "\xCA\xFE")).exit_code, 0);
  const std::string paho =
      "import struct, sys, paho.mqtt.publish as p\n"
      "payload = struct.pack('>BBBBIQ', 1, 0, 0, 0, 0x80000000 | 0x18DAF110, 0) + b'\\x01\\x02\\x03'\n"
      "p.single('fleet/rig7/f/dashboard', payload, hostname='127.0.0.1', port=int(sys.argv[1]))\n";
  auto py = run({system_python, "-c", paho, std::to_string(broker.port())}, 60s);
  EXPECT_EQ(py.exit_code, 0) << py.err;
  EXPECT_TRUE(d0.read_until([&](auto&) { return d0.count(with_id("456")) >= 1 && d0.count(with_id("18DAF110")) >= 1; },
                            60s))
      << d0.listing();
  std::this_thread::sleep_for(500ms);  // own frames would be back by now
  d0.stop();
  EXPECT_EQ(texts(d0.matching(with_id("456"))), std::vector<std::string>{"456#CAFE"});
  EXPECT_EQ(texts(d0.matching(with_id("18DAF110"))), std::vector<std::string>{"18DAF110#010203"});
  EXPECT_EQ(d0.count(with_id("123")), 1u) << "the bridge's own frame never comes back onto its bus";
  auto end = br.stop();
  EXPECT_EQ(end.exit_code, 0) << end.out;
}

// vcan0 -> bridge -> broker -> bridge -> vcan1 and back, on each protocol.
TEST_F(MqttBridge, TwoBridgesCarryABusToAnotherOnceInOrder) {
  for (std::string version : {"5", "3.1.1"}) {
    SCOPED_TRACE("MQTT " + version);
    mosquitto_broker broker;
    auto d0 = bus_dump::start(can0);
    auto d1 = bus_dump::start(canfd);
    const std::string topic = broker.uri("fleet/shared") + "?version=" + version;
    auto a = bridge_process::start({"can://" + can0, topic + "&node=a"});
    auto b = bridge_process::start({"can://" + canfd, topic + "&node=b"});
    ASSERT_TRUE(a.started && b.started);
    ASSERT_TRUE(wait_crossing(can0, "7F0#" + std::string(probe_data), d1, "7F0"));
    ASSERT_TRUE(wait_crossing(canfd, "7F1#" + std::string(probe_data), d0, "7F1"));
    constexpr std::size_t n = 500;
    ASSERT_TRUE(run_pumping({"cangen", can0, "-n", std::to_string(n), "-g", "2", "-I", "123", "-L", "8", "-D", "i"},
                            {&d0, &d1}));
    EXPECT_TRUE(d1.read_until([&](auto&) { return d1.count(with_id("123")) >= n; }, 120s))
        << d1.count(with_id("123")) << " of " << n;
    ASSERT_TRUE(run_pumping(
        {"cangen", canfd, "-n", std::to_string(n), "-g", "2", "-e", "-I", "18DAF110", "-L", "8", "-D", "i"},
        {&d0, &d1}));
    EXPECT_TRUE(d0.read_until([&](auto&) { return d0.count(with_id("18DAF110")) >= n; }, 120s))
        << d0.count(with_id("18DAF110")) << " of " << n;
    std::this_thread::sleep_for(1s);
    d0.stop();
    d1.stop();
    EXPECT_EQ(texts(d1.matching(with_id("123"))), texts(d0.matching(with_id("123"))))
        << "every frame once, in order, same ID and data";
    EXPECT_EQ(d0.count(with_id("123")), n) << "none came back onto " << can0;
    EXPECT_EQ(texts(d0.matching(with_id("18DAF110"))), texts(d1.matching(with_id("18DAF110"))));
    EXPECT_EQ(d1.count(with_id("18DAF110")), n) << "none came back onto " << canfd;
    auto ea = a.stop(), eb = b.stop();
    EXPECT_EQ(ea.exit_code, 0) << ea.out;
    EXPECT_EQ(eb.exit_code, 0) << eb.out;
    EXPECT_NE(ea.out.find("dropped: 0 malformed, 0 while the broker was unreachable, 0 with the receive queue full"),
              std::string::npos)
        << ea.out;
  }
}

// ISO-TP on one bus to ISO-TP on the other, through the broker as messages
// (kind=messages): 4095 bytes, the classic limit, arrive whole.
TEST_F(MqttBridge, IsotpMessagesOf4095BytesCross) {
  mosquitto_broker broker;
  const std::string topic = broker.uri("fleet/diag") + "?kind=messages";
  auto a = bridge_process::start({"isotp://" + can0 + "?rx=7E0&tx=7E8", topic + "&node=a"});
  auto b = bridge_process::start({"isotp://" + canfd + "?rx=7E8&tx=7E0", topic + "&node=b"});
  ASSERT_TRUE(a.started && b.started);
  ASSERT_TRUE(a.wait_for("bridging ", 60s) && b.wait_for("bridging ", 60s));
  std::string hex;
  for (std::size_t i = 0; i < 4095; ++i) {
    char h[4];
    std::snprintf(h, sizeof h, "%02X ", static_cast<unsigned>((i * 7) & 0xFF));
    hex += h;
  }
  // isotprecv on vcan1 takes what the far bridge sends on 7E0 (its flow
  // control on 7E8); isotpsend on vcan0 sends to the near bridge's 7E0.
  auto recv = child::spawn({"isotprecv", "-s", "7E8", "-d", "7E0", canfd});
  std::this_thread::sleep_for(1s);
  auto sent = run({"isotpsend", "-s", "7E0", "-d", "7E8", can0}, 60s, hex + "\n");
  EXPECT_EQ(sent.exit_code, 0) << sent.err;
  std::optional<std::string> line = recv.read_line(60s);
  ASSERT_TRUE(line) << "no ISO-TP message reached " << canfd << ": " << a.stop().out << b.stop().out;
  std::string got = *line;
  while (!got.empty() && got.back() == ' ') got.pop_back();
  std::string want = hex;
  want.pop_back();
  EXPECT_EQ(got.size(), want.size());
  EXPECT_EQ(got, want);
  recv.signal(SIGINT);
  recv.wait(10s);
  a.stop();
  b.stop();
}

}  // namespace
