#include "socketcand_beacon.hpp"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstring>
#include <fmt/format.h>
#include <optional>
#include <spdlog/spdlog.h>
#include <utility>

#include "anysock/uri.hpp"

namespace anysock::can::socketcand {

namespace asio = boost::asio;
using boost::system::error_code;
using udp = asio::ip::udp;

result<udp::endpoint> parse_beacon_to(const std::string& host_port) {
  const auto bad = [&](std::string_view why) {
    return error{make_error_code(errc::bad_option),
                 fmt::format("--beacon-to '{}': {}; write HOST:PORT, e.g. 255.255.255.255:{} (every host on the "
                             "local network) or 192.168.1.255:{}",
                             host_port, why, beacon_port, beacon_port)};
  };
  auto u = parse_uri("udp://" + host_port);
  if (!u || !u->path.empty() || !u->query.empty()) return bad("not HOST:PORT");
  auto hp = split_host_port(*u, "");
  if (!hp) return bad("not HOST:PORT");
  if (hp->port == 0) return bad("port 0 is no destination");
  error_code ec;
  auto address = asio::ip::make_address(hp->host, ec);
  if (!ec) return udp::endpoint{address, hp->port};
  asio::io_context io(1);
  udp::resolver resolver(io);
  auto found = resolver.resolve(hp->host, std::to_string(hp->port), ec);
  if (ec || found.empty()) return bad(fmt::format("cannot resolve '{}': {}", hp->host, ec ? ec.message() : "no address"));
  return found.begin()->endpoint();
}

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      case '\t': out += "&#9;"; break;
      case '\n': out += "&#10;"; break;
      case '\r': out += "&#13;"; break;
      default: out += static_cast<unsigned char>(c) < 0x20 ? '?' : c;
    }
  }
  return out;
}

std::string beacon_xml(std::string_view name, std::string_view description, std::string_view url,
                       const std::vector<std::string>& buses) {
  auto text = fmt::format(R"(<CANBeacon name="{}" type="{}" description="{}"><URL>{}</URL>)", xml_escape(name),
                          xml_escape(beacon_type), xml_escape(description), xml_escape(url));
  for (const auto& b : buses) text += fmt::format(R"(<Bus name="{}"/>)", xml_escape(b));
  return text + "</CANBeacon>";
}

namespace detail {

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr auto warn_every = std::chrono::minutes(1);

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

// 1.2.3.4 rather than ::ffff:1.2.3.4: SavvyCAN reads only IPv4 literals.
asio::ip::address plain(asio::ip::address a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  return a;
}

// 255.255.255.255 or an interface's directed broadcast address: the kernel
// refuses to send to either without SO_BROADCAST.
bool is_broadcast(const asio::ip::address& a) {
  if (!a.is_v4()) return false;
  if (a.to_v4() == asio::ip::address_v4::broadcast()) return true;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return false;
  bool found = false;
  for (auto* i = list; i != nullptr && !found; i = i->ifa_next) {
    if ((i->ifa_flags & IFF_BROADCAST) == 0 || i->ifa_broadaddr == nullptr || i->ifa_broadaddr->sa_family != AF_INET)
      continue;
    sockaddr_in sin{};
    std::memcpy(&sin, i->ifa_broadaddr, sizeof sin);
    found = ntohl(sin.sin_addr.s_addr) == a.to_v4().to_uint();
  }
  freeifaddrs(list);
  return found;
}

// The local address the kernel would send from towards `to`: connecting a
// UDP socket picks the route and sends nothing.
std::optional<asio::ip::address> route_source(asio::io_context& io, const udp::endpoint& to, bool broadcast) {
  udp::socket probe(io);
  error_code ec;
  probe.open(to.protocol(), ec);
  if (!ec && broadcast) probe.set_option(asio::socket_base::broadcast(true), ec);
  if (!ec) probe.connect(to, ec);
  if (ec) return std::nullopt;
  auto a = probe.local_endpoint(ec).address();
  if (ec || a.is_unspecified()) return std::nullopt;
  return plain(a);
}

std::string endpoint_text(const udp::endpoint& ep) { return join_host_port(ep.address().to_string(), ep.port()); }

}  // namespace

beacon::beacon(asio::io_context& io, beacon_config c, std::vector<std::string> buses, tcp::endpoint listener)
    : io_(io),
      config_(std::move(c)),
      buses_(std::move(buses)),
      listener_(listener),
      broadcast_(is_broadcast(config_.to.address())),
      timer_(io),
      socket_(io) {}

std::optional<asio::ip::address> beacon::address() const {
  auto a = plain(listener_.address());
  if (!a.is_unspecified()) return a;
  auto from = route_source(io_, config_.to, broadcast_);
  // A listener on 0.0.0.0 takes no IPv6 client; [::] takes both.
  if (!from || (from->is_v6() && listener_.address().is_v4())) return std::nullopt;
  return from;
}

std::string beacon::url() const {
  const auto a = address();
  return "can://" + join_host_port(a ? a->to_string() : host_name(), listener_.port());
}

void beacon::start() {
  const auto a = address();
  const auto advertised = url();
  spdlog::info("socketcand: beacon every {:g} s to udp {}{}, advertising {} for {}",
               std::chrono::duration<double>(config_.every).count(), endpoint_text(config_.to),
               broadcast_ ? " (broadcast)" : "", advertised, fmt::join(buses_, ", "));
  if (a && a->is_loopback() && !config_.to.address().is_loopback())
    spdlog::warn("socketcand: beacons advertise {}, which only this machine can reach; --listen on a network "
                 "address or 0.0.0.0 for clients elsewhere",
                 advertised);
  asio::co_spawn(io_, [self = shared_from_this()] { return self->loop(); }, asio::detached);
}

void beacon::stop() {
  if (stopped_) return;
  stopped_ = true;
  timer_.cancel();
  error_code ignored;
  socket_.close(ignored);
  spdlog::info("socketcand: beacon stopped: {} sent, {} failed", sent_, failures_);
}

asio::awaitable<void> beacon::loop() {
  while (!stopped_) {
    send_one();
    timer_.expires_after(config_.every);
    co_await timer_.async_wait(use_tuple);
  }
}

void beacon::send_one() {
  error_code ec;
  if (!socket_.is_open()) {
    socket_.open(config_.to.protocol(), ec);
    if (!ec && broadcast_) socket_.set_option(asio::socket_base::broadcast(true), ec);
    // A full send buffer loses this beacon, never stalls the server.
    if (!ec) socket_.non_blocking(true, ec);
    if (ec) {
      error_code ignored;
      socket_.close(ignored);
      return failed("cannot open a UDP socket: " + ec.message());
    }
  }
  text_ = beacon_xml(host_name(), config_.description, url(), buses_);
  socket_.send_to(asio::buffer(text_), config_.to, 0, ec);
  if (ec) return failed(ec.message());
  ++sent_;
}

void beacon::failed(const std::string& why) {
  ++failures_;
  ++unsaid_;
  const auto now = std::chrono::steady_clock::now();
  if (warned_ && now - last_warned_ < warn_every) return;
  warned_ = true;
  last_warned_ = now;
  const auto n = std::exchange(unsaid_, 0);
  spdlog::warn("socketcand: cannot send a beacon to {}: {}{}; {} failed so far, retrying every {:g} s",
               endpoint_text(config_.to), why, n > 1 ? fmt::format(" ({} like it since the last warning)", n) : "",
               failures_, std::chrono::duration<double>(config_.every).count());
}

}  // namespace detail

}  // namespace anysock::can::socketcand
