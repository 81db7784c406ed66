// mqtt:// on a real mosquitto the test starts (127.0.0.1, a free port, its
// own config): the echo responder on the broker's bus answers `anysock send`
// and `bench` on MQTT 5 and 3.1.1; peers nobody here wrote (mosquitto_pub,
// mosquitto_sub, python3-paho-mqtt) publish frames it answers; malformed
// payloads are counted, not echoed; a duplicate node is reported; a broker
// restart is reconnected; a killed process leaves its retained `offline`.
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "bridge_process.hpp"
#include "mosquitto_broker.hpp"
#include "process.hpp"
#include "serve_process.hpp"

using namespace std::chrono_literals;
using namespace anysock::test;

namespace {

constexpr const char* system_python = "/usr/bin/python3";

// `anysock serve URI` with its log readable while it runs.
bridge_process start_serve(const std::string& uri) { return bridge_process::start_subcommand("serve", {uri}); }

// mosquitto_sub printing "TOPIC HEXPAYLOAD" per message, until `count` came.
child subscribe(const mosquitto_broker& b, const std::string& topic, int count, const std::string& format = "%t %x") {
  return child::spawn({"mosquitto_sub", "-h", "127.0.0.1", "-p", std::to_string(b.port()), "-t", topic, "-F", format,
                       "-C", std::to_string(count), "-W", "20"});
}

// Gives a subscriber time to subscribe before the publish it must see.
void settle() { std::this_thread::sleep_for(500ms); }

TEST(MqttEcho, SendAndBenchAreAnsweredOnMqtt5And311) {
  for (std::string version : {"5", "3.1.1"}) {
    SCOPED_TRACE("MQTT " + version);
    mosquitto_broker broker;
    auto serve = start_serve(broker.uri("fleet/rig7") + "?node=resp&version=" + version);
    ASSERT_TRUE(serve.started);
    const std::string client = broker.uri("fleet/rig7") + "?node=cli&version=" + version;
    auto greeting = run_anysock({"send", client}, 20s);
    EXPECT_EQ(greeting.exit_code, 0) << greeting.err;
    EXPECT_NE(greeting.out.find("fleet/rig7  7E8   [8]  48 65 6C 6C 6F 2C 20 77"), std::string::npos) << greeting.out;
    auto one = run_anysock({"send", client, "7E0#DEADBEEF"}, 20s);
    EXPECT_EQ(one.exit_code, 0) << one.err;
    EXPECT_NE(one.out.find("7E8   [4]  DE AD BE EF"), std::string::npos) << one.out;
    auto bench = run_anysock({"bench", "--json", "-n", "1000", "-p", "4", "-s", "8", client}, 60s);
    EXPECT_EQ(bench.exit_code, 0) << bench.err;
    EXPECT_EQ(json_field(bench.out, "round_trips"), "1000") << bench.out;
    EXPECT_EQ(json_field(bench.out, "mismatches"), "0") << bench.out;
    EXPECT_EQ(json_field(bench.out, "lost"), "0") << bench.out;
    EXPECT_EQ(json_field(bench.out, "errors"), "0") << bench.out;
    auto end = serve.stop();
    EXPECT_EQ(end.exit_code, 0) << end.out;
    EXPECT_NE(end.out.find("0 malformed"), std::string::npos) << end.out;
    // 3.1.1 has no No Local: the broker sends the responder its own answers,
    // which it drops by topic and counts.
    EXPECT_EQ(end.out.find("own frames the broker sent back") != std::string::npos, version == "3.1.1") << end.out;
  }
}

TEST(MqttEcho, QosOneWithAnExpiryIsAnsweredToo) {
  mosquitto_broker broker;
  auto serve = start_serve(broker.uri("fleet/q1") + "?node=resp&qos=1&expiry=5");
  ASSERT_TRUE(serve.started);
  const std::string client = broker.uri("fleet/q1") + "?node=cli&qos=1&expiry=5";
  auto r = run_anysock({"send", client, "7E0#0A0B"}, 20s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("7E8   [2]  0A 0B"), std::string::npos) << r.out;
  auto bench = run_anysock({"bench", "--json", "-n", "300", "-p", "8", "-s", "8", client}, 60s);
  EXPECT_EQ(json_field(bench.out, "mismatches"), "0") << bench.out << bench.err;
  EXPECT_EQ(json_field(bench.out, "lost"), "0") << bench.out;
  auto end = serve.stop();
  EXPECT_EQ(end.exit_code, 0) << end.out;
}

TEST(MqttPeers, MosquittoPubAndPahoFramesAreAnsweredOnce) {
  mosquitto_broker broker;
  auto serve = start_serve(broker.uri("fleet/bus") + "?node=resp");
  ASSERT_TRUE(serve.started);
  auto replies = subscribe(broker, "fleet/bus/f/resp", 2);
  settle();
  auto pub = publish_file(broker, "fleet/bus/f/pub", bin_frame(0x7E0, "\xDE\xAD\xBE\xEF"));
  EXPECT_EQ(pub.exit_code, 0) << pub.err;
  const std::string paho =
      "import struct, sys, paho.mqtt.publish as p\n"
      "payload = struct.pack('>BBBBIQ', 1, 0, 0, 0, 0x7E0, 0) + b'\\x01\\x02\\x03'\n"
      "p.single('fleet/bus/f/paho', payload, hostname='127.0.0.1', port=int(sys.argv[1]))\n";
  auto py = run({system_python, "-c", paho, std::to_string(broker.port())}, 20s);
  EXPECT_EQ(py.exit_code, 0) << py.err;
  auto seen = replies.wait(25s);
  EXPECT_EQ(seen.exit_code, 0) << seen.err;
  // Each answered once, on 7E8, in the documented layout.
  EXPECT_NE(seen.out.find("fleet/bus/f/resp 01000000000007e8"), std::string::npos) << seen.out;
  EXPECT_NE(seen.out.find("deadbeef\n"), std::string::npos) << seen.out;
  EXPECT_NE(seen.out.find("010203\n"), std::string::npos) << seen.out;
  auto more = subscribe(broker, "fleet/bus/f/resp", 1);
  auto none = more.wait(2s);  // nothing further: -W would print nothing
  EXPECT_EQ(none.out, "") << none.out;
  auto end = serve.stop();
  EXPECT_EQ(end.exit_code, 0) << end.out;
  EXPECT_NE(end.out.find("2 published, 2 received"), std::string::npos) << end.out;
}

TEST(MqttPeers, CandumpTextIsAnsweredAsText) {
  mosquitto_broker broker;
  auto serve = start_serve(broker.uri("fleet/text") + "?node=resp&format=candump&rx=123&tx=456");
  ASSERT_TRUE(serve.started);
  auto replies = subscribe(broker, "fleet/text/f/resp", 1, "%t %p");
  settle();
  auto pub = run({"mosquitto_pub", "-h", "127.0.0.1", "-p", std::to_string(broker.port()), "-t",
                  "fleet/text/f/ha", "-m", "123#CAFE"},
                 10s);
  EXPECT_EQ(pub.exit_code, 0) << pub.err;
  auto seen = replies.wait(25s);
  EXPECT_EQ(seen.out, "fleet/text/f/resp 456#CAFE\n") << seen.err;
  serve.stop();
}

TEST(MqttHostile, MalformedPayloadsAreCountedAndNeverAnswered) {
  mosquitto_broker broker;
  auto serve = start_serve(broker.uri("fleet/bus") + "?node=resp");
  ASSERT_TRUE(serve.started);
  auto replies = subscribe(broker, "fleet/bus/f/resp", 1);
  settle();
  const std::vector<std::string> bad{
      "hello",                                             // not the format
      std::string("\x01\x00\x00", 3),                      // short
      bin_frame(0x7E0, "123456789"),                       // 9 bytes in a classic frame
      bin_frame(0x7E0, std::string(5000, 'x'), 0x08),      // an oversized message
      std::string(1, '\x09') + bin_frame(0x7E0, "x").substr(1),  // an unknown version
      bin_frame(0x7E0, "ab", 0x40),                        // an unknown flag
  };
  for (const auto& b : bad) EXPECT_EQ(publish_file(broker, "fleet/bus/f/evil", b).exit_code, 0);
  EXPECT_EQ(publish_file(broker, "fleet/bus/f/good", bin_frame(0x7E0, "ok")).exit_code, 0);
  auto seen = replies.wait(25s);
  EXPECT_NE(seen.out.find("6f6b\n"), std::string::npos) << "only the good frame is answered: " << seen.out;
  auto end = serve.stop();
  EXPECT_EQ(end.exit_code, 0) << end.out;
  EXPECT_NE(end.out.find("1 published, 1 received; dropped: 6 malformed"), std::string::npos) << end.out;
  EXPECT_NE(end.out.find("dropped what evil published on fleet/bus/f/evil"), std::string::npos) << end.out;
}

TEST(MqttNodes, ASecondProcessWithTheSameNodeIsReported) {
  mosquitto_broker broker;
  auto first = start_serve(broker.uri("fleet/bus") + "?node=twin");
  ASSERT_TRUE(first.started);
  auto second = start_serve(broker.uri("fleet/bus") + "?node=twin&rx=123&tx=456");
  ASSERT_TRUE(second.started);
  EXPECT_TRUE(first.wait_for("took this one's session", 20s)) << first.stop().out;
  auto end = first.finish(20s);
  EXPECT_NE(end.exit_code, 0) << "the older process stops instead of fighting for the session: " << end.out;
  second.stop();
}

TEST(MqttOutage, ABrokerRestartIsReconnectedAndAKilledNodeLeavesOffline) {
  mosquitto_broker broker;
  auto serve = start_serve(broker.uri("fleet/bus") + "?node=resp");
  ASSERT_TRUE(serve.started);
  const std::string client = broker.uri("fleet/bus") + "?node=cli";
  EXPECT_EQ(run_anysock({"send", client}, 20s).exit_code, 0);
  broker.kill();
  EXPECT_TRUE(serve.wait_for("lost the broker", 20s));
  broker.start();
  EXPECT_TRUE(serve.wait_for("connected again", 60s));
  auto again = run_anysock({"send", client, "7E0#0102"}, 20s);
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("7E8   [2]  01 02"), std::string::npos) << again.out;
  // SIGKILL: the broker publishes the Will, retained.
  serve.proc.signal(SIGKILL);
  serve.finish(10s);
  std::this_thread::sleep_for(500ms);
  auto status = subscribe(broker, "fleet/bus/status/resp", 1, "%t %p").wait(20s);
  EXPECT_EQ(status.out, "fleet/bus/status/resp offline\n") << status.err;
}

TEST(MqttErrors, AnUnreachableBrokerAndBadUrisAreOneLine) {
  mosquitto_broker broker;
  const auto port = broker.port();
  broker.stop();
  auto r = run_anysock({"send", "mqtt://127.0.0.1:" + std::to_string(port) + "/fleet/bus"}, 30s);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("cannot reach the broker"), std::string::npos) << r.err;
  auto s = run_anysock({"serve", "mqtt://127.0.0.1:" + std::to_string(port) + "/fleet/bus?kind=messages"}, 30s);
  EXPECT_NE(s.exit_code, 0);
  EXPECT_NE(s.err.find("kind=messages is for bridges"), std::string::npos) << s.err;
  auto storm = run_anysock({"serve", "mqtt://127.0.0.1:" + std::to_string(port) + "/fleet/bus?rx=0:0"}, 30s);
  EXPECT_NE(storm.exit_code, 0);
  EXPECT_NE(storm.err.find("anysock: "), std::string::npos) << storm.err;
}

}  // namespace
