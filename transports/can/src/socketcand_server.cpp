#include "anysock/can/socketcand_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unordered_map>

#include "anysock/uri.hpp"
#include "socketcand_beacon.hpp"
#include "socketcand_session.hpp"

namespace anysock::can::socketcand {

using detail::tcp;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr int client_send_buffer = 256 * 1024;

// "1.2.3.4:5" for an IPv4 client of a dual-stack listener, not "[::ffff:1.2.3.4]:5".
std::string name_of(const tcp::endpoint& ep) {
  auto a = ep.address();
  if (a.is_v6() && a.to_v6().is_v4_mapped()) a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  return join_host_port(a.to_string(), ep.port());
}

}  // namespace

result<void> check_buses(const std::vector<std::string>& buses) {
  asio::io_context io(1);
  for (const auto& bus : buses) {
    auto u = parse_uri("can://" + bus);
    if (!u) return u.err();
    raw::socket s(io);
    error_code ec;
    s.open(raw(), ec);
    if (ec) return socket_error(*u, ec, "can-raw");
    auto index = find_interface(*u, bus, false, s.native_handle());
    if (!index) return index.err();
  }
  return {};
}

struct server::impl : std::enable_shared_from_this<impl> {
  impl(asio::io_context& ctx, server_config c) : io(ctx), config(std::move(c)), acceptor(ctx) {
    for (const auto& b : config.buses) drop_totals->try_emplace(b, 0);
  }

  asio::awaitable<void> accept_loop();
  void refuse(tcp::socket s, const std::string& peer);

  asio::io_context& io;
  server_config config;
  tcp::acceptor acceptor;
  std::shared_ptr<const std::string> name = std::make_shared<const std::string>("socketcand");
  std::unordered_map<detail::client*, std::weak_ptr<detail::client>> clients;
  std::shared_ptr<detail::beacon> beacon;
  std::shared_ptr<detail::bus_drop_totals> drop_totals = std::make_shared<detail::bus_drop_totals>();
  bool stopping = false;
};

server::server(asio::io_context& io, server_config c) : impl_(std::make_shared<impl>(io, std::move(c))) {}

server::~server() {
  impl_->stopping = true;
  error_code ignored;
  impl_->acceptor.close(ignored);
  if (impl_->beacon) impl_->beacon->stop();
}

result<std::string> server::listen(const std::string& host_port) {
  auto u = parse_uri("socketcand://" + host_port);
  if (!u) return error{u.err().code, fmt::format("--listen '{}': write HOST:PORT, e.g. 127.0.0.1:{} or [::]:{}",
                                                 host_port, default_port, default_port)};
  auto hp = split_host_port(*u, "127.0.0.1:29536");
  if (!hp) return hp.err();
  error_code ec;
  tcp::endpoint ep;
  auto address = asio::ip::make_address(hp->host, ec);
  if (!ec) {
    ep = {address, hp->port};
  } else {
    tcp::resolver resolver(impl_->io);
    auto found = resolver.resolve(hp->host, std::to_string(hp->port), ec);
    if (ec || found.empty())
      return error{ec ? std::error_code(ec) : make_error_code(errc::bad_option),
                   fmt::format("--listen {}: cannot resolve '{}': {}; give an address such as 127.0.0.1 or [::]",
                               host_port, hp->host, ec ? ec.message() : "no address")};
    ep = *found.begin();
  }
  auto& a = impl_->acceptor;
  a.open(ep.protocol(), ec);
  // python-can connects over IPv4 only: an IPv6 wildcard must take it too.
  if (!ec && ep.protocol() == tcp::v6()) a.set_option(asio::ip::v6_only(false), ec);
  if (!ec) a.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    a.close();
    return error{ec, fmt::format("cannot listen on {}: {}; pick another --listen address or port (0 picks a free "
                                 "one), or stop what holds it",
                                 join_host_port(ep.address().to_string(), ep.port()), ec.message())};
  }
  const auto bound = a.local_endpoint();
  auto text = join_host_port(bound.address().to_string(), bound.port());
  impl_->name = std::make_shared<const std::string>("socketcand://" + text);
  return text;
}

bool server::loopback_only() const {
  error_code ec;
  auto a = impl_->acceptor.local_endpoint(ec).address();
  if (ec) return true;
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).is_loopback();
  return a.is_loopback();
}

void server::start() {
  auto& i = *impl_;
  asio::co_spawn(i.io, [p = impl_] { return p->accept_loop(); }, asio::detached);
  error_code ec;
  const auto bound = i.acceptor.local_endpoint(ec);
  if (i.config.beacon && !ec) {
    i.beacon = std::make_shared<detail::beacon>(i.io, *i.config.beacon, i.config.buses, bound);
    i.beacon->start();
  }
}

void server::stop() {
  auto& i = *impl_;
  if (i.stopping) return;
  i.stopping = true;
  error_code ignored;
  i.acceptor.close(ignored);
  if (i.beacon) i.beacon->stop();
  // Copied: each client removes itself from the map when its visit ends.
  std::vector<std::shared_ptr<detail::client>> open;
  for (auto& [p, w] : i.clients)
    if (auto c = w.lock()) open.push_back(std::move(c));
  spdlog::info("socketcand: closing {} client{}", open.size(), open.size() == 1 ? "" : "s");
  for (auto& c : open) c->close();
}

asio::awaitable<void> server::impl::accept_loop() {
  auto self = shared_from_this();
  asio::steady_timer pause(io);
  for (;;) {
    auto [ec, s] = co_await acceptor.async_accept(use_tuple);
    if (stopping) co_return;
    if (ec) {
      // Out of descriptors or memory: say so and try again shortly rather
      // than spin or give up on every client to come.
      spdlog::warn("socketcand: cannot accept a client: {}; retrying", ec.message());
      pause.expires_after(std::chrono::milliseconds(100));
      co_await pause.async_wait(use_tuple);
      continue;
    }
    error_code pe;
    const auto remote = s.remote_endpoint(pe);
    const std::string peer = pe ? std::string("?") : name_of(remote);
    if (config.max_clients != 0 && clients.size() >= config.max_clients) {
      refuse(std::move(s), peer);
      continue;
    }
    s.set_option(tcp::no_delay(true), pe);
    // A fixed send buffer: autotuning lets a stalled client's grow to 4 MiB
    // (~100000 frames, seconds of a busy bus) that --queue neither bounds
    // nor counts, and the client would read them long stale. 256 KiB (the
    // kernel doubles it) is several times what a 1 Mbit/s bus needs at a
    // 100 ms round trip.
    s.set_option(asio::socket_base::send_buffer_size(client_send_buffer), pe);
    auto c = std::make_shared<detail::client>(std::move(s), peer, name, config, drop_totals,
                                              [w = weak_from_this()](detail::client* gone) {
                                                if (auto i = w.lock()) i->clients.erase(gone);
                                              });
    clients.emplace(c.get(), c);
    c->start();
  }
}

// Told why, in the protocol's own words, instead of a bare close: a person
// at `nc` sees it, and python-can fails its constructor either way.
void server::impl::refuse(tcp::socket s, const std::string& peer) {
  spdlog::warn("socketcand: refused client {}: {} clients are connected already (--max-links {})", peer,
               clients.size(), config.max_clients);
  auto sock = std::make_shared<tcp::socket>(std::move(s));
  auto text = std::make_shared<std::string>();
  append_error(*text, "too many clients");
  asio::async_write(*sock, asio::buffer(*text), [sock, text](error_code, std::size_t) {
    error_code ignored;
    sock->shutdown(tcp::socket::shutdown_both, ignored);
    sock->close(ignored);
  });
}

}  // namespace anysock::can::socketcand
