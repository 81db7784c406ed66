#include "anysock/bluetooth/l2cap.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "anysock/bluetooth/adapter.hpp"

namespace anysock::l2cap {
namespace {

using bluetooth::any_address;
using bluetooth::format_address;
using bluetooth::local_adapter;

error socket_error(const uri& u, const error_code& ec) { return bluetooth::socket_error(u, ec, "L2CAP", "bluetooth"); }

// Sets the security level, MTUs and mode the URI asks for, after bind and
// before connect or listen (an accepted socket inherits the listener's).
template <class Socket>
error_code apply_options(Socket& s, const endpoint_spec& spec) {
  error_code ec;
  if (spec.security) s.set_option(security_level(*spec.security), ec);
  if (ec) return ec;
  if (is_le(spec.type)) {
    if (spec.imtu) s.set_option(receive_mtu(*spec.imtu), ec);
    return ec;
  }
  if (!spec.imtu && !spec.omtu && !spec.mode) return ec;
  options o;
  s.get_option(o, ec);
  if (ec) return ec;
  l2cap_options v = o.value();
  if (spec.imtu) v.imtu = *spec.imtu;
  if (spec.omtu) v.omtu = *spec.omtu;
  if (spec.mode) v.mode = static_cast<std::uint8_t>(*spec.mode);
  s.set_option(options(v), ec);
  return ec;
}

error option_error(const uri& u, const endpoint_spec& spec, const error_code& ec) {
  if (spec.mode && spec.mode != channel_mode::basic && (ec == asio::error::invalid_argument || ec.value() == EOPNOTSUPP))
    return {ec, fmt::format("{}: this kernel does not offer mode={} ({}): ERTM and streaming need the bluetooth "
                            "module with disable_ertm=0", u.text, describe(*spec.mode), ec.message())};
  return {ec, fmt::format("{}: cannot set the channel options (sec, imtu, omtu, mode): {}", u.text, ec.message())};
}

error bind_error(const uri& u, const bdaddr_t& local, std::uint16_t psm, bool le, const error_code& ec) {
  const std::string where = local == any_address ? std::string("any adapter") : format_address(local);
  if (ec == asio::error::address_in_use)
    return {ec, psm == 0 ? fmt::format("{}: every dynamic {} PSM is taken on {}", u.text, le ? "LE" : "BR/EDR", where)
                         : fmt::format("{}: PSM 0x{:04X} on {} is taken by another L2CAP server; pick another, or 0 "
                                       "for a free one", u.text, psm, where)};
  if (ec == asio::error::access_denied || ec.value() == EPERM)
    return {ec, fmt::format("{}: no permission to listen on L2CAP ({}); a security module (AppArmor, SELinux) or a "
                            "sandbox may deny Bluetooth sockets to this program", u.text, ec.message())};
  return {ec, fmt::format("{}: cannot listen on PSM 0x{:04X} of {}: {}", u.text, psm, where, ec.message())};
}

// What a failed connect to `remote` means, in one line.
error connect_error(const uri& u, const error_code& ec, const std::string& remote, const endpoint_spec& spec) {
  const bool le = is_le(spec.type);
  std::string what;
  switch (ec.value()) {
    case ECONNREFUSED:
      what = fmt::format("{} refused PSM 0x{:04X}: nothing listens there (is the server running, on {}?), or the "
                         "link failed its security check (pairing: bluetoothctl pair {})",
                         remote, spec.psm, le ? "LE (?le=1)" : "BR/EDR (no ?le=)", remote);
      break;
    case EHOSTDOWN:
    case ETIMEDOUT:
      what = le ? fmt::format("{} did not answer the LE connection ({}): it does not advertise as connectable (on "
                              "it: btmgmt advertising on), is out of range, or has a {} address (le={})",
                              remote, ec.message(), spec.type == address_type::le_public ? "random" : "public",
                              spec.type == address_type::le_public ? "random" : "1")
                : fmt::format("{} did not answer the page ({}): the device is out of range, off, or not connectable "
                              "(on it: bluetoothctl discoverable on, or hciconfig hciN piscan)", remote, ec.message());
      break;
    case EHOSTUNREACH:
    case ENETDOWN:
    case ENODEV:
      what = fmt::format("no Bluetooth adapter that is up can reach {} ({}); bluetoothctl power on", remote,
                         ec.message());
      break;
    case EACCES:
    case EPERM:
      what = fmt::format("{} refused the channel's security (sec=) or authentication failed ({}): pair first "
                         "(bluetoothctl pair {}) or lower sec=", remote, ec.message(), remote);
      break;
    case ECONNRESET:
      what = fmt::format("{} dropped the channel before it was up ({}){}", remote, ec.message(),
                         spec.mode && spec.mode != channel_mode::basic
                             ? fmt::format(": it may not offer mode={}", describe(*spec.mode))
                             : std::string());
      break;
    default:
      what = fmt::format("cannot connect to {} PSM 0x{:04X}: {}", remote, spec.psm, ec.message());
  }
  return {ec, fmt::format("{}: {}", u.text, what)};
}

}  // namespace

error_code link::configure() {
  error_code ec;
  socket_.non_blocking(true, ec);
  if (ec) return ec;
  auto ep = socket_.local_endpoint(ec);
  if (ec) return ec;
  info_.le = is_le(ep.type());
  if (info_.le) {
    receive_mtu in;
    send_mtu out;
    socket_.get_option(in, ec);
    if (!ec) socket_.get_option(out, ec);
    if (ec) return ec;
    info_.receive_mtu = in.value();
    info_.send_mtu = out.value();
  } else {
    options o;
    socket_.get_option(o, ec);
    if (ec) return ec;
    info_.receive_mtu = o.value().imtu;
    info_.send_mtu = o.value().omtu;
    info_.mode = static_cast<channel_mode>(o.value().mode);
  }
  receive_size_ = info_.receive_mtu;
  return ec;
}

std::string link::peer() const {
  error_code ec;
  auto ep = socket_.remote_endpoint(ec);
  return ec ? std::string("(disconnected)") : format_address(ep.address());
}

std::string link::describe() const {
  return fmt::format("MTU in {}, out {}, {}", info_.receive_mtu, info_.send_mtu,
                     info_.le ? std::string("LE credit-based") : fmt::format("{} mode", anysock::l2cap::describe(info_.mode)));
}

void link::log_channel() const { spdlog::info("{}: L2CAP channel, {}", peer(), describe()); }

void link::warn_oversize(std::size_t size) {
  if (std::exchange(said_oversize_, true)) return;
  spdlog::warn("{}: a message of {} bytes is over the channel's send MTU of {} (what the peer accepts); larger ones "
               "are not sent",
               peer(), size, info_.send_mtu);
}

std::string acceptor::name() const {
  auto ep = local_endpoint();
  return format_uri(ep.address(), ep.psm(), ep.type());
}

result<listener_list> listen(const uri& u, asio::io_context& io) {
  auto spec = parse(u, role::listen);
  if (!spec) return spec.err();
  l2cap::acceptor a(asio::make_strand(io));
  error_code ec;
  a.open(l2cap(), ec);
  if (ec) return socket_error(u, ec);
  auto local = local_adapter(u, spec->kind == endpoint_spec::host_kind::address ? format_address(spec->address)
                                                                                  : spec->adapter);
  if (!local) return local.err();
  // PSM 0: the kernel picks the first free dynamic one at bind. The
  // options come after it: only a socket bound as LE takes BT_RCVMTU.
  a.bind(l2cap::endpoint(*local, spec->psm, spec->type), ec);
  if (ec) return bind_error(u, *local, spec->psm, is_le(spec->type), ec);
  if (auto oec = apply_options(a, *spec)) return option_error(u, *spec, oec);
  a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return bind_error(u, *local, spec->psm, is_le(spec->type), ec);
  const auto bound = a.local_endpoint(ec);
  const std::string name = format_uri(bound.address(), bound.psm(), spec->type);
  if (is_le(spec->type)) {
    const std::string hci = spec->kind == endpoint_spec::host_kind::adapter ? spec->adapter : std::string("hciN");
    spdlog::info("{}: LE centrals reach this channel only while the adapter advertises as connectable: "
                 "btmgmt -i {} le on; btmgmt -i {} advertising on (or bluetoothctl advertise on)",
                 name, hci, hci);
  }
  listener_list out;
  out.push_back(std::make_unique<basic_listener<acceptor>>(acceptor(io, std::move(a))));
  return out;
}

asio::awaitable<result<link>> connect(const uri& u, asio::any_io_executor ex) {
  auto spec = parse(u, role::connect);
  if (!spec) co_return spec.err();
  l2cap::socket s(ex);
  error_code ec;
  s.open(l2cap(), ec);
  if (ec) co_return socket_error(u, ec);
  auto local = local_adapter(u, spec->via);
  if (!local) co_return local.err();
  // LE: the socket must be bound as LE before it may connect to an LE
  // address; BR/EDR: only to choose the adapter.
  if (*local != any_address || is_le(spec->type)) {
    const auto local_type = is_le(spec->type) ? address_type::le_public : address_type::bredr;
    s.bind(l2cap::endpoint(*local, 0, local_type), ec);
    if (ec) co_return error{ec, fmt::format("{}: cannot use adapter {}: {}", u.text,
                                            spec->via.empty() ? std::string("any") : spec->via, ec.message())};
  }
  if (auto oec = apply_options(s, *spec)) co_return option_error(u, *spec, oec);
  const std::string remote = format_address(spec->address);
  auto [cec] = co_await s.async_connect(l2cap::endpoint(spec->address, spec->psm, spec->type),
                                        asio::as_tuple(asio::use_awaitable));
  if (cec) co_return connect_error(u, cec, remote, *spec);
  link l(std::move(s), {});
  if (auto cfg = l.configure())
    co_return error{cfg, fmt::format("{}: cannot read the channel's MTUs: {}", u.text, cfg.message())};
  l.log_channel();
  co_return l;
}

transport make_transport() {
  transport t;
  t.scheme = "l2cap";
  t.summary = "Bluetooth L2CAP channels, message boundaries kept: BR/EDR (classic) and LE credit-based";
  t.listen_example = "l2cap://hci0:0x1001   (l2cap://hci0:0x80?le=1 for LE; PSM 0 picks a free one)";
  t.connect_example = "l2cap://00:1A:7D:DA:71:13:0x1001   (?le=1 or ?le=random for an LE device)";
  t.options_help = "le=0|1|public|random, imtu=N, omtu=N (BR/EDR), mode=basic|ertm|streaming (BR/EDR), "
                   "sec=low|medium|high|fips, adapter=hciN (client)";
  t.validate = [](const uri& u) -> result<void> {
    if (auto s = parse(u, role::connect); !s) return s.err();
    return {};
  };
  t.listen = [](const uri& u, asio::io_context& io) { return listen(u, io); };
  t.connect = connect_as_any_link<&connect>;
  t.carries = message_kind::messages;
  t.max_message = default_mtu;
  t.shape_for = [](const uri& u) {
    payload_shape p{message_kind::messages, default_mtu};
    auto spec = parse(u, role::listen);
    if (!spec) spec = parse(u, role::connect);
    if (spec) p.max_message = spec->omtu.value_or(spec->imtu.value_or(default_mtu));
    return p;
  };
  return t;
}

}  // namespace anysock::l2cap
