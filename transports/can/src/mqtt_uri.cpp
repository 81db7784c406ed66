#include "anysock/can/mqtt_uri.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <array>

namespace anysock::can::mqtt {
namespace {

constexpr std::string_view example = "mqtt://127.0.0.1:1883/fleet/rig7-can0";

error bad(const uri& u, std::string what) {
  return {make_error_code(errc::bad_option), fmt::format("{}: {}", u.text, what)};
}

// A topic level may not hold MQTT's wildcards or be empty; no NUL either.
bool valid_level(std::string_view s) {
  return !s.empty() && s.find_first_of(std::string_view("+#/\0 ", 5)) == std::string_view::npos;
}

}  // namespace

std::string default_node() {
  std::array<char, 256> name{};
  if (gethostname(name.data(), name.size() - 1) != 0 || name[0] == 0) return "anysock";
  std::string n(name.data());
  for (char& c : n)
    if (c == '/' || c == '+' || c == '#' || c == ' ') c = '_';
  return n;
}

uri frames_uri(const uri& u) {
  uri b = u;
  b.authority = u.path.empty() ? std::string() : u.path.substr(1);
  b.path.clear();
  b.query.clear();
  for (const auto& [k, v] : u.query)
    if (k == "rx" || k == "tx" || k == "fd" || k == "err") b.query.emplace_back(k, v);
  return b;
}

result<bus_config> parse_bus(const uri& u, bool bridge) {
  if (auto ok = check_options(u, {"node", "qos", "format", "version", "kind", "expiry", "keepalive", "rx", "tx",
                                  "fd", "err"});
      !ok)
    return ok.err();
  bus_config c;
  auto hp = split_host_port(u, example, default_port);
  if (!hp) return hp.err();
  c.host = hp->host;
  c.port = hp->port;
  c.bus = u.path.empty() ? std::string() : u.path.substr(1);
  if (c.bus.empty())
    return error{make_error_code(errc::bad_uri), fmt::format("{}: name the bus's topic after the broker, e.g. {}",
                                                             u.text, example)};
  for (std::size_t at = 0; at <= c.bus.size();) {
    const std::size_t slash = std::min(c.bus.find('/', at), c.bus.size());
    if (!valid_level(std::string_view(c.bus).substr(at, slash - at)))
      return error{make_error_code(errc::bad_uri),
                   fmt::format("{}: '{}' is not a topic to publish on (an empty level, a space or a +/# "
                               "wildcard); write e.g. {}",
                               u.text, c.bus, example)};
    at = slash + 1;
  }
  c.node = std::string(u.option("node").value_or(default_node()));
  if (!valid_level(c.node) || c.node.size() > 64)
    return bad(u, fmt::format("node='{}' must be 1-64 characters without '/', '+', '#' or spaces: it is a topic "
                              "level and the MQTT client ID",
                              c.node));
  auto qos = uint_option(u, "qos", 0, 0, 1);
  if (!qos) return qos.err();
  c.qos = static_cast<int>(*qos);
  auto expiry = uint_option(u, "expiry", 10, 1, 3600);
  if (!expiry) return expiry.err();
  c.expiry = static_cast<std::uint32_t>(*expiry);
  auto keepalive = uint_option(u, "keepalive", 30, 5, 3600);
  if (!keepalive) return keepalive.err();
  c.keepalive = static_cast<std::uint16_t>(*keepalive);
  if (auto v = u.option("version")) {
    if (*v == "5")
      c.version = 5;
    else if (*v == "3.1.1" || *v == "311" || *v == "4")
      c.version = 4;
    else
      return bad(u, fmt::format("version={} is not an MQTT version this speaks: 5 or 3.1.1", *v));
  }
  if (auto f = u.option("format")) {
    if (*f == "candump")
      c.format = payload_format::candump;
    else if (*f != "bin")
      return bad(u, fmt::format("format={}: use bin (the versioned binary payload) or candump (123#DEADBEEF text)", *f));
  }
  if (auto k = u.option("kind")) {
    if (*k == "messages")
      c.messages = true;
    else if (*k != "frames")
      return bad(u, fmt::format("kind={}: use frames (CAN frames, their ID kept) or messages (ISO-TP messages "
                                "and stream chunks up to {} bytes, no CAN header)",
                                *k, max_message));
  }
  if (c.messages && c.format == payload_format::candump)
    return bad(u, "format=candump writes CAN frames; kind=messages needs format=bin");
  if (c.messages && (u.option("rx") || u.option("tx") || u.option("fd") || u.option("err")))
    return bad(u, "rx=, tx=, fd= and err= choose CAN frames; kind=messages carries messages without a CAN header");
  if (c.qos == 0 && u.option("expiry")) return bad(u, "expiry= is for qos=1 (a QoS 0 frame is never queued)");
  if (c.version == 4 && c.qos == 1 && u.option("expiry"))
    return bad(u, "expiry= needs MQTT 5 (version=5): 3.1.1 has no message expiry");

  const uri bus_uri = frames_uri(u);
  auto frames = bridge || c.messages ? parse_raw_bridge(bus_uri) : parse_raw(bus_uri);
  if (!frames) return frames.err();
  c.frames = std::move(frames).value();
  // A broker has no MTU: a bridge carries the FD frames of any bus unless fd=0.
  if (c.messages || (bridge && !u.option("fd"))) c.frames.fd = true;
  return c;
}

}  // namespace anysock::can::mqtt
