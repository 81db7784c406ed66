#include "anysock/bluetooth/rfcomm.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <atomic>
#include <chrono>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "anysock/bluetooth/adapter.hpp"
#include "anysock/bluetooth/sdp.hpp"

namespace anysock::rfcomm {
namespace {

using bluetooth::list_adapters;
using bluetooth::local_adapter;

error socket_error(const uri& u, const error_code& ec) { return bluetooth::socket_error(u, ec, "RFCOMM", "rfcomm"); }

// Sets the security level and link mode the URI asks for (sec=, lm=).
template <class Socket>
error_code apply_options(Socket& s, const endpoint_spec& spec) {
  error_code ec;
  if (spec.link_mode) s.set_option(link_mode(*spec.link_mode), ec);
  if (!ec && spec.security) s.set_option(security_level(*spec.security), ec);
  return ec;
}

error bind_error(const uri& u, const bdaddr_t& local, int channel, const error_code& ec) {
  const std::string where = local == any_address ? std::string("any adapter") : format_address(local);
  if (ec == asio::error::address_in_use)
    return {ec, fmt::format("{}: channel {} on {} is taken by another RFCOMM server (sdptool browse local lists "
                            "the published ones); pick another, or 0 for a free one",
                            u.text, channel, where)};
  if (ec == asio::error::access_denied || ec.value() == EPERM)
    return {ec, fmt::format("{}: no permission to listen on RFCOMM ({}); a security module (AppArmor, "
                            "SELinux) or a sandbox may deny Bluetooth sockets to this program",
                            u.text, ec.message())};
  return {ec, fmt::format("{}: cannot listen on channel {} of {}: {}", u.text, channel, where, ec.message())};
}

// "No SDP record" is said once per process, not once per listener: a server
// on twenty channels has one reason, not twenty.
void warn_unpublished(const std::string& name, const std::string& why) {
  static std::atomic<bool> said{false};
  if (said.exchange(true)) return;
  spdlog::warn("{}: no SDP record published, so phones and sdptool browse will not find this service (clients "
               "must give the channel: {}): {}",
               name, name, why);
}

// A refused connect is asked once more, after a pause, on a new socket.
// Linux on the server side refuses the L2CAP connection under RFCOMM
// ("security block") when it arrives after the link's Encryption Change but
// before the server's own Read Encryption Key Size has completed: right
// after pairing, a connect can cross that window (seen in HCI traces
// between two Linux controllers under load, about one connect in 25). The
// second attempt finds the link encrypted and its key size known. A channel
// where nothing listens is refused again, at the cost of one pause.
// An authentication failure right after an SDP lookup is asked once more
// too: seen once in CI (bluetoothd pairing two virtual controllers, the ACL
// link dropped with "Authentication Failure" as the lookup's link was
// closing; not traced further). Keys that really do not match fail the
// second time the same way, and the error then says how to pair again.
asio::awaitable<error_code> connect_again(rfcomm::socket& s, const bdaddr_t& local, const endpoint_spec& spec,
                                          const rfcomm::endpoint& ep) {
  asio::steady_timer pause(s.get_executor(), std::chrono::milliseconds(500));
  auto [pec] = co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
  if (pec) co_return pec;
  error_code ec;
  s.close(ec);
  s.open(rfcomm(), ec);
  if (!ec && local != any_address) s.bind(rfcomm::endpoint(local, 0), ec);
  if (!ec) ec = apply_options(s, spec);
  if (ec) co_return ec;
  auto [cec] = co_await s.async_connect(ep, asio::as_tuple(asio::use_awaitable));
  co_return cec;
}

}  // namespace

error_code link::configure() {
  error_code ec;
  socket_.non_blocking(true, ec);
  return ec;
}

std::string link::peer() const {
  error_code ec;
  auto ep = socket_.remote_endpoint(ec);
  return ec ? std::string("(disconnected)") : format_address(ep.address());
}

acceptor::acceptor(asio::io_context& io, rfcomm::acceptor a, std::shared_ptr<sdp_record> record)
    : io_(&io), acceptor_(std::move(a)), record_(std::move(record)) {}

rfcomm::endpoint acceptor::local_endpoint() const {
  error_code ec;
  return acceptor_.local_endpoint(ec);
}

std::string acceptor::name() const {
  auto ep = local_endpoint();
  return format_uri(ep.address(), ep.channel());
}

void acceptor::close() {
  error_code ignored;
  acceptor_.close(ignored);
  record_.reset();
}

result<listener_list> listen(const uri& u, asio::io_context& io) {
  auto spec = parse(u, role::listen);
  if (!spec) return spec.err();
  // Each acceptor lives on a strand so stop() from another thread is safe.
  rfcomm::acceptor a(asio::make_strand(io));
  error_code ec;
  a.open(rfcomm(), ec);
  if (ec) return socket_error(u, ec);
  auto local = local_adapter(u, spec->kind == endpoint_spec::host_kind::address ? format_address(spec->address)
                                                                                  : spec->adapter);
  if (!local) return local.err();
  if (auto oec = apply_options(a, *spec))
    return error{oec, fmt::format("{}: cannot set the security options: {}", u.text, oec.message())};
  a.bind(rfcomm::endpoint(*local, spec->channel), ec);
  // Channel 0: the kernel picks the first free channel at listen().
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    if (spec->channel == 0 && ec == asio::error::address_in_use)
      return error{ec, fmt::format("{}: every RFCOMM channel (1-{}) is taken on this adapter", u.text, max_channel)};
    return bind_error(u, *local, spec->channel, ec);
  }
  const auto bound = a.local_endpoint(ec);
  const std::string name = format_uri(bound.address(), bound.channel());

  const std::string service = spec->service_name.value_or(std::string(default_service_name));
  auto record = publish_record(*local, bound.channel(), spec->uuid, service);
  if (record)
    spdlog::info("{}: SDP record published: '{}', class {}, channel {}", name, service, format_uuid(spec->uuid),
                 static_cast<int>(bound.channel()));
  else
    warn_unpublished(name, record.err().message);
  if (*local == any_address)
    if (auto all = list_adapters(u))
      for (const auto& ad : *all)
        if (ad.up) spdlog::info("{}: reachable as {} ({})", name, format_uri(ad.address, bound.channel()), ad.name);

  listener_list out;
  out.push_back(std::make_unique<basic_listener<acceptor>>(
      acceptor(io, std::move(a), record ? std::move(record).value() : nullptr)));
  return out;
}

asio::awaitable<result<link>> connect(const uri& u, asio::any_io_executor ex) {
  auto spec = parse(u, role::connect);
  if (!spec) co_return spec.err();
  rfcomm::socket s(ex);
  error_code ec;
  s.open(rfcomm(), ec);
  if (ec) co_return socket_error(u, ec);
  // Connect from the adapter asked for; otherwise the kernel picks a route
  // (the first adapter that is up), once one is known to be up.
  auto local = local_adapter(u, spec->via);
  if (!local) co_return local.err();
  if (*local != any_address) {
    s.bind(rfcomm::endpoint(*local, 0), ec);
    if (ec) co_return error{ec, fmt::format("{}: cannot use adapter {}: {}", u.text, spec->via, ec.message())};
  }
  if (auto oec = apply_options(s, *spec))
    co_return error{oec, fmt::format("{}: cannot set the security options: {}", u.text, oec.message())};

  const std::string remote = format_address(spec->address);
  std::uint8_t channel = spec->channel;
  if (channel == 0) {
    auto found = co_await find_service(u, ex, *local, spec->address, spec->uuid, spec->service_name);
    if (!found) co_return found.err();
    channel = found->channel;
    spdlog::debug("{}: SDP: '{}' is on channel {}", u.text, found->name, static_cast<int>(channel));
  }
  const rfcomm::endpoint ep(spec->address, channel);
  auto [cec] = co_await s.async_connect(ep, asio::as_tuple(asio::use_awaitable));
  if (cec == asio::error::connection_refused || cec == asio::error::access_denied) {
    spdlog::debug("{}: {} refused channel {} ({}); asking once more", u.text, remote, static_cast<int>(channel),
                  cec.message());
    cec = co_await connect_again(s, *local, *spec, ep);
  }
  if (cec) co_return connect_error(u, cec, remote, channel);
  link l(std::move(s));
  if (auto cfg = l.configure())
    co_return error{cfg, fmt::format("{}: cannot configure the socket: {}", u.text, cfg.message())};
  co_return l;
}

transport make_transport() {
  transport t;
  t.scheme = "rfcomm";
  t.summary = "Bluetooth RFCOMM (serial port profile): SPP modules, phone serial terminal apps";
  t.listen_example = "rfcomm://hci0:5   (rfcomm://any:0 picks a free channel; an SDP record advertises it)";
  t.connect_example = "rfcomm://00:1A:7D:DA:71:13:5   (no channel: found by SDP, Serial Port UUID)";
  t.options_help = "sec=low|medium|high|fips, lm=master,auth,encrypt,secure, uuid=1101|128-bit, name=SERVICE, "
                   "adapter=hciN (client)";
  t.validate = [](const uri& u) -> result<void> {
    if (auto s = parse(u, role::connect); !s) return s.err();
    return {};
  };
  t.listen = [](const uri& u, asio::io_context& io) { return listen(u, io); };
  t.connect = connect_as_any_link<&connect>;
  return t;
}

error connect_error(const uri& u, const error_code& ec, const std::string& remote, int channel) {
  std::string what;
  const std::string where = channel > 0 ? fmt::format("{} channel {}", remote, channel) : remote;
  switch (ec.value()) {
    case ECONNREFUSED:
      // RFCOMM also answers a failed security check with a refusal.
      what = channel > 0 ? fmt::format("{} refused channel {}: nothing listens there (is the echo server running? "
                                       "sdptool browse {} lists its channels), or the link failed its security "
                                       "check (pairing: bluetoothctl pair {})",
                                       remote, channel, remote, remote)
                         : fmt::format("{} has no SDP server to ask for the channel (no bluetoothd there?); give "
                                       "the channel: rfcomm://{}:CH", remote, remote);
      break;
    case EHOSTDOWN:
    case ETIMEDOUT:
      what = fmt::format("{} did not answer the page ({}): the device is out of range, off, or not connectable "
                         "(on it: bluetoothctl discoverable on, or hciconfig hciN piscan)", remote, ec.message());
      break;
    case EHOSTUNREACH:
    case ENETDOWN:
    case ENODEV:
      what = fmt::format("no Bluetooth adapter that is up can reach {} ({}); bluetoothctl power on", remote,
                         ec.message());
      break;
    case EBUSY:
      what = fmt::format("a link from this adapter to {} is already open: RFCOMM allows one link per channel "
                         "between two devices", where);
      break;
    case EACCES:
    case EPERM:
      what = fmt::format("authentication with {} failed ({}): if the two devices were paired before, one side "
                         "may have forgotten it: bluetoothctl remove {} (and remove this machine on the device), "
                         "then pair again (bluetoothctl pair {}); a device that demands pairing needs that too",
                         remote, ec.message(), remote, remote);
      break;
    case ECONNRESET:
      what = fmt::format("{} dropped the connection before it was up ({}): if it asks for pairing, pair first "
                         "(bluetoothctl pair {}) or lower sec=", where, ec.message(), remote);
      break;
    default:
      what = fmt::format("cannot connect to {}: {}", where, ec.message());
  }
  return {ec, fmt::format("{}: {}", u.text, what)};
}

}  // namespace anysock::rfcomm
