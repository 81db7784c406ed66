// What an mqtt:// URI says: the broker, the bus's topics, this node's name,
// how messages are carried, and can://'s rx=/tx= rules. No sockets here, so
// the link and a fuzzer share one parser.
#pragma once

#include <cstdint>
#include <string>

#include "anysock/can/config.hpp"
#include "anysock/can/mqtt_payload.hpp"
#include "anysock/error.hpp"
#include "anysock/uri.hpp"

namespace anysock::can::mqtt {

inline constexpr std::uint16_t default_port = 1883;

struct bus_config {
  std::string host;
  std::uint16_t port = default_port;
  std::string bus;   // "fleet/rig7-can0": the topics' base
  std::string node;  // this process: its topic level and MQTT client ID
  int version = 5;   // MQTT protocol: 5, or 4 for 3.1.1
  int qos = 0;
  std::uint32_t expiry = 10;     // qos=1: seconds a queued frame stays worth delivering
  std::uint16_t keepalive = 30;  // seconds
  payload_format format = payload_format::bin;
  bool messages = false;  // kind=messages: header-less messages (ISO-TP, streams) instead of frames
  raw_config frames;      // rx=, tx=, fd=, err= as for can://

  std::string frame_topic() const { return bus + "/f/" + node; }
  std::string subscription() const { return bus + "/f/+"; }
  std::string status_topic() const { return bus + "/status/" + node; }
  std::string broker() const { return join_host_port(host, port); }
};

// `mqtt://HOST[:PORT]/PREFIX/BUS[?node=ID&qos=0|1&format=bin|candump&version=5|3.1.1
// &kind=frames|messages&expiry=S&keepalive=S&rx=..&tx=..]`; `bridge` takes
// parse_raw_bridge's defaults (every frame, IDs kept) instead of the
// responder's.
result<bus_config> parse_bus(const uri& u, bool bridge);

// The URI as can:// would read its frame options (rx=, tx=, fd=, err=),
// for the frame syntax and defaults `send` shares with can://.
uri frames_uri(const uri& u);

// The host's name as a topic level and client ID ('/', '+', '#' and spaces
// replaced): node='s default.
std::string default_node();

}  // namespace anysock::can::mqtt
