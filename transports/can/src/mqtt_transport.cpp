// mqtt://HOST[:PORT]/PREFIX/BUS: a CAN bus on an MQTT broker, with can://'s
// roles, options and frame syntax (mqtt_link.hpp).
#include <fmt/format.h>

#include "anysock/can/can.hpp"
#include "anysock/can/mqtt_link.hpp"
#include "anysock/client.hpp"
#include "anysock/executor_threads.hpp"
#include "anysock/single_link_acceptor.hpp"

namespace anysock::can {
namespace {

result<void> validate_mqtt(const uri& u) {
  auto c = mqtt::parse_bus(u, false);
  if (!c) return c.err();
  if (c->messages)
    return error{make_error_code(errc::unsupported),
                 fmt::format("{}: kind=messages is for bridges (ISO-TP or a stream to the broker); an echo of "
                             "messages without IDs would answer another echo's answers. Serve frames: rx=, tx=",
                             u.text)};
  return check_storm_safe(u, c->frames);
}

result<mqtt::bus_config> parse_bridge_side(const uri& u) { return mqtt::parse_bus(u, true); }

result<listener_list> listen_mqtt_as(const uri& u, asio::io_context& io, link_role role) {
  auto l = connect_mqtt_now(u, link_executor(io), role);
  if (!l) return l.err();
  listener_list out;
  out.push_back(std::make_unique<basic_listener<single_link_acceptor<mqtt_link>>>(
      single_link_acceptor<mqtt_link>(std::move(l).value(), u.text)));
  return out;
}

template <link_role Role>
asio::awaitable<result<std::unique_ptr<any_link>>> connect_mqtt_as(const uri& u, asio::any_io_executor ex) {
  auto l = co_await connect_mqtt(u, std::move(ex), Role);
  if (!l) co_return l.err();
  co_return make_any_link(std::move(l).value());
}

}  // namespace

void register_mqtt(registry& r, const transport& can) {
  transport t;
  t.scheme = "mqtt";
  t.summary = "a CAN bus on an MQTT broker, shared by every node subscribed to it (MQTT 5 or 3.1.1)";
  t.listen_example = "mqtt://127.0.0.1/fleet/rig7?rx=7E0&tx=7E8   (the responder, on the broker's bus)";
  t.connect_example = "mqtt://broker:1883/fleet/rig7?rx=123&tx=456 123#DEADBEEF   (port 1883 if left out)";
  t.options_help = "node=ID, qos=0|1, expiry=S, format=bin|candump, version=5|3.1.1, kind=frames|messages, "
                   "keepalive=S; rx=, tx=, fd= as for can://";
  t.validate = validate_mqtt;
  t.listen = [](const uri& u, asio::io_context& io) -> result<listener_list> {
    if (auto ok = validate_mqtt(u); !ok) return ok.err();
    return listen_mqtt_as(u, io, link_role::responder);
  };
  t.connect = connect_mqtt_as<link_role::client>;
  t.parse_message = [p = can.parse_message](const uri& u, std::string_view text) {
    return p(mqtt::frames_uri(u), text);
  };
  t.default_messages = [d = can.default_messages](const uri& u) { return d(mqtt::frames_uri(u)); };
  t.format_message = [f = can.format_message](const uri& u, const message& m) { return f(mqtt::frames_uri(u), m); };
  t.carries = message_kind::frames;
  t.max_message = CANFD_MAX_DLEN;
  t.shape_for = [](const uri& u) {
    auto c = mqtt::parse_bus(u, true);
    if (c && c->messages) return payload_shape{message_kind::messages, mqtt::max_message};
    return payload_shape{message_kind::frames, CANFD_MAX_DLEN};
  };
  t.bridge_listen = [](const uri& u, asio::io_context& io) { return listen_mqtt_as(u, io, link_role::bridge); };
  t.bridge_connect = connect_mqtt_as<link_role::bridge>;
  t.bridge_validate = validate_with<&parse_bridge_side>;
  r.add(std::move(t));
}

}  // namespace anysock::can
