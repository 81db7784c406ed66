// The socketcand discovery beacon, how SavvyCAN and Kayak find servers: a UDP
// datagram every few seconds, by default broadcast to port 42000, naming this
// host, the URL to connect to and the buses served, in upstream socketcand's
// XML (`<CANBeacon name= type= description=><URL>can://IP:PORT</URL><Bus
// name=/>...</CANBeacon>`), with every value XML-escaped (upstream does not).
#pragma once

#include <boost/asio/ip/udp.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "anysock/error.hpp"

namespace anysock::can::socketcand {

// Where upstream sends beacons and SavvyCAN and Kayak listen for them.
inline constexpr std::uint16_t beacon_port = 42000;
// Upstream's interval, and the longest the protocol allows.
inline constexpr std::chrono::milliseconds beacon_interval{3000};
// The device type upstream announces for a Linux host.
inline constexpr std::string_view beacon_type = "SocketCAN";

struct beacon_config {
  boost::asio::ip::udp::endpoint to{boost::asio::ip::address_v4::broadcast(), beacon_port};
  std::chrono::milliseconds every = beacon_interval;
  std::string description = "anysock socketcand";
};

// `--beacon-to HOST:PORT`: an address or a name that resolves, port 1-65535;
// otherwise one line saying what to write.
result<boost::asio::ip::udp::endpoint> parse_beacon_to(const std::string& host_port);

// `text` fit for XML content and attribute values: & < > " ' as entities,
// tab, CR and LF as character references (an attribute keeps them), other
// control characters, which XML 1.0 cannot carry at all, as '?'.
std::string xml_escape(std::string_view text);

// One beacon's text, e.g. for host "pi", url "can://10.0.0.5:29536" and bus
// vcan0: <CANBeacon name="pi" type="SocketCAN" description="anysock
// socketcand"><URL>can://10.0.0.5:29536</URL><Bus name="vcan0"/></CANBeacon>
std::string beacon_xml(std::string_view name, std::string_view description, std::string_view url,
                       const std::vector<std::string>& buses);

}  // namespace anysock::can::socketcand
