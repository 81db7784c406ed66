#include <fmt/format.h>

#include "anysock/can/can.hpp"
#include "anysock/can/isotp_link.hpp"
#include "anysock/can/raw_link.hpp"
#include "anysock/can/socketcand_link.hpp"
#include "anysock/client.hpp"
#include "anysock/executor_threads.hpp"
#include "anysock/single_link_acceptor.hpp"

namespace anysock::can {
namespace {

error bad_frame(const uri& u, std::string what) {
  return {make_error_code(errc::bad_option), fmt::format("{}: {}", u.text, what)};
}

result<raw_config> raw_checked(const uri& u) {
  auto c = parse_raw(u);
  if (!c) return c;
  if (auto ok = check_storm_safe(u, *c); !ok) return ok.err();
  return c;
}

result<listener_list> listen_raw_as(const uri& u, asio::io_context& io, const raw_config& c, raw_link::role r) {
  auto s = open_raw(u, link_executor(io), c, r);
  if (!s) return s.err();
  listener_list out;
  raw_link l(std::move(s).value(), std::make_shared<raw_config>(c), r);
  out.push_back(std::make_unique<basic_listener<single_link_acceptor<raw_link>>>(
      single_link_acceptor<raw_link>(std::move(l), u.text)));
  return out;
}

result<listener_list> listen_raw(const uri& u, asio::io_context& io) {
  auto c = raw_checked(u);
  if (!c) return c.err();
  return listen_raw_as(u, io, *c, raw_link::role::responder);
}

// In a bridge the bus passes frames on instead of answering them: no
// request/reply pair to check, and the socket never hears its own frames.
result<listener_list> listen_raw_bridge(const uri& u, asio::io_context& io) {
  auto c = parse_raw_bridge(u);
  if (!c) return c.err();
  return listen_raw_as(u, io, *c, raw_link::role::bridge);
}

asio::awaitable<result<std::unique_ptr<any_link>>> connect_raw_bridge(const uri& u, asio::any_io_executor ex) {
  auto c = parse_raw_bridge(u);
  if (!c) co_return c.err();
  auto s = open_raw(u, ex, *c, raw_link::role::bridge);
  if (!s) co_return s.err();
  co_return make_any_link(raw_link(std::move(s).value(), std::make_shared<raw_config>(*c), raw_link::role::bridge));
}

asio::awaitable<result<std::unique_ptr<any_link>>> connect_raw(const uri& u, asio::any_io_executor ex) {
  auto c = raw_checked(u);
  if (!c) co_return c.err();
  auto s = open_raw(u, ex, *c, raw_link::role::client);
  if (!s) co_return s.err();
  co_return make_any_link(raw_link(std::move(s).value(), std::make_shared<raw_config>(*c), raw_link::role::client));
}

result<message> parse_raw_message(const uri& u, std::string_view text) {
  auto c = parse_raw(u);
  if (!c) return c.err();
  auto f = parse_frame(text);
  if (!f) return f.err();
  if (f->remote()) return bad_frame(u, fmt::format("{} is a remote request; the echo answers data frames only", text));
  if (f->error()) return bad_frame(u, fmt::format("{} is an error frame; the echo answers data frames only", text));
  if (f->fd && !c->fd) return bad_frame(u, fmt::format("{} is a CAN FD frame: add fd=1 to the URI", text));
  if (!c->is_request(f->id))
    return bad_frame(u, fmt::format("{} does not match the responder's request filter (rx=); no reply would come. "
                                    "Send on a request ID, or give the URI the responder's rx=",
                                    text));
  return message{{f->id, encode_flags(*f)}, std::string(reinterpret_cast<const char*>(f->data.data()), f->len)};
}

// The greeting, cut into classic frames on the first request ID.
std::vector<message> raw_default_messages(const uri& u) {
  std::vector<message> out;
  auto c = parse_raw(u);
  if (!c) return out;
  canid_t id = c->rx.front().id;
  for (const auto& m : greeting_messages())
    for (std::size_t at = 0; at < m.size(); at += CAN_MAX_DLEN)
      out.push_back(message{{id, 0}, m.substr(at, CAN_MAX_DLEN)});
  return out;
}

std::string format_raw_message(const uri& u, const message& m) {
  frame f;
  f.id = m.header.id;
  decode_flags(m.header.flags, f);
  f.len = static_cast<std::uint8_t>(std::min<std::size_t>(m.bytes.size(), CANFD_MAX_DLEN));
  std::memcpy(f.data.data(), m.bytes.data(), f.len);
  return format_candump(f, u.authority);
}

// How logs and errors name an ISO-TP link: the peer it talks to.
std::string isotp_peer(const isotp_config& c) {
  return fmt::format("iso-tp peer on {} (its messages on {:X}, ours on {:X})", c.interface_name,
                     c.rx_id & CAN_EFF_MASK, c.tx_id & CAN_EFF_MASK);
}

result<listener_list> listen_isotp(const uri& u, asio::io_context& io) {
  auto c = parse_isotp(u);
  if (!c) return c.err();
  auto s = open_isotp(u, link_executor(io), *c);
  if (!s) return s.err();
  listener_list out;
  isotp_link l(std::move(s).value(), isotp_peer(*c));
  out.push_back(std::make_unique<basic_listener<single_link_acceptor<isotp_link>>>(
      single_link_acceptor<isotp_link>(std::move(l), u.text)));
  return out;
}

asio::awaitable<result<std::unique_ptr<any_link>>> connect_isotp(const uri& u, asio::any_io_executor ex) {
  auto c = parse_isotp(u);
  if (!c) co_return c.err();
  auto s = open_isotp(u, ex, *c);
  if (!s) co_return s.err();
  co_return make_any_link(isotp_link(std::move(s).value(), isotp_peer(*c)));
}

// socketcand://HOST[:PORT]/BUS: the bus behind a socketcand server, with
// can://'s roles, options and frame syntax.
uri bus_uri(const uri& u) {
  auto r = socketcand::parse_remote(u, true);
  uri b = u;
  if (r) b.authority = r->bus;
  return b;
}

result<void> validate_socketcand(const uri& u) {
  auto r = socketcand::parse_remote(u, false);
  if (!r) return r.err();
  return check_storm_safe(u, r->frames);
}

result<listener_list> listen_socketcand_as(const uri& u, asio::io_context& io, link_role role) {
  auto l = connect_socketcand_now(u, link_executor(io), role);
  if (!l) return l.err();
  listener_list out;
  out.push_back(std::make_unique<basic_listener<single_link_acceptor<socketcand_link>>>(
      single_link_acceptor<socketcand_link>(std::move(l).value(), u.text)));
  return out;
}

template <link_role Role>
asio::awaitable<result<std::unique_ptr<any_link>>> connect_socketcand_as(const uri& u, asio::any_io_executor ex) {
  auto l = co_await connect_socketcand(u, std::move(ex), Role);
  if (!l) co_return l.err();
  co_return make_any_link(std::move(l).value());
}

}  // namespace

void register_transports(registry& r) {
  transport raw_t;
  raw_t.scheme = "can";
  raw_t.summary = "SocketCAN raw frames (classic and FD): a storm-proof echo responder";
  raw_t.listen_example = "can://vcan0?rx=7E0&tx=7E8   (answers 7E0 frames on 7E8: the default)";
  raw_t.connect_example = "can://vcan0?rx=123&tx=456 123#DEADBEEF   (frames in cansend syntax)";
  raw_t.options_help = "rx=ID[,ID:MASK,ID~MASK...] requests, tx=ID or tx=+OFFSET replies, fd=1, err=1";
  raw_t.validate = validate_with<&raw_checked>;
  raw_t.listen = listen_raw;
  raw_t.connect = connect_raw;
  raw_t.parse_message = parse_raw_message;
  raw_t.default_messages = raw_default_messages;
  raw_t.format_message = format_raw_message;
  raw_t.carries = message_kind::frames;
  raw_t.bridge_listen = listen_raw_bridge;
  raw_t.bridge_connect = connect_raw_bridge;
  raw_t.bridge_validate = validate_with<&parse_raw_bridge>;
  register_mqtt(r, raw_t);
  r.add(std::move(raw_t));

  transport iso;
  iso.scheme = "isotp";
  iso.summary = "SocketCAN ISO-TP (ISO 15765-2): messages up to 4095 bytes between an rx/tx ID pair";
  iso.listen_example = "isotp://vcan0?rx=7E0&tx=7E8";
  iso.connect_example = "isotp://vcan0?rx=7E8&tx=7E0   (the client's rx is the server's tx)";
  iso.options_help = "rx=ID, tx=ID, fd=1, pad=AA, bs=N, stmin=N, ext=XX";
  iso.validate = validate_with<&parse_isotp>;
  iso.listen = listen_isotp;
  iso.connect = connect_isotp;
  iso.carries = message_kind::messages;
  iso.max_message = 4095;  // ISO 15765-2's classic limit, which every peer takes
  r.add(std::move(iso));

  transport sc;
  sc.scheme = "socketcand";
  sc.summary = "a CAN bus behind a socketcand server (raw mode, classic frames), as can:// is a local one";
  sc.listen_example = "socketcand://pi:29536/can0?rx=7E0&tx=7E8   (the responder, on the remote bus)";
  sc.connect_example = "socketcand://127.0.0.1/vcan0?rx=123&tx=456 123#DEADBEEF   (port 29536 if left out)";
  sc.options_help = "rx=, tx= as for can://";
  sc.validate = validate_socketcand;
  sc.listen = [](const uri& u, asio::io_context& io) { return listen_socketcand_as(u, io, link_role::responder); };
  sc.connect = connect_socketcand_as<link_role::client>;
  sc.parse_message = [](const uri& u, std::string_view text) { return parse_raw_message(bus_uri(u), text); };
  sc.default_messages = [](const uri& u) { return raw_default_messages(bus_uri(u)); };
  sc.format_message = [](const uri& u, const message& m) { return format_raw_message(bus_uri(u), m); };
  sc.carries = message_kind::frames;
  sc.bridge_listen = [](const uri& u, asio::io_context& io) {
    return listen_socketcand_as(u, io, link_role::bridge);
  };
  sc.bridge_connect = connect_socketcand_as<link_role::bridge>;
  sc.bridge_validate = [](const uri& u) -> result<void> {
    auto remote = socketcand::parse_remote(u, true);
    if (!remote) return remote.err();
    return {};
  };
  r.add(std::move(sc));
}

}  // namespace anysock::can
