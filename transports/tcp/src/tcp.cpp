#include "anysock/tcp/tcp.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace anysock::tcp {
namespace {

error bind_error(const uri& u, const asio_tcp::endpoint& ep, const error_code& ec) {
  auto where = format_endpoint(ep);
  std::string what;
  if (ec == asio::error::address_in_use)
    what = fmt::format("{} is already in use; stop the program listening there or pick another port "
                       "(port 0 picks a free one)", where);
  else if (ec == asio::error::access_denied)
    what = fmt::format("no permission to bind {}; ports below 1024 need root or CAP_NET_BIND_SERVICE, "
                       "or pick a port above 1023", where);
  else if (ec == boost::system::errc::address_not_available)
    what = fmt::format("{} is not an address of this machine; use [::] for every address", where);
  else
    what = fmt::format("cannot listen on {}: {}", where, ec.message());
  return {ec, fmt::format("{}: {}", u.text, what)};
}

}  // namespace

std::string format_endpoint(const asio_tcp::endpoint& ep) {
  return join_host_port(ep.address().to_string(), ep.port());
}

error_code link::configure(const options& o) {
  error_code ec;
  socket_.non_blocking(true, ec);
  if (!ec && o.nodelay) socket_.set_option(asio_tcp::no_delay(true), ec);
  return ec;
}

std::string link::peer() const {
  error_code ec;
  auto ep = socket_.remote_endpoint(ec);
  return ec ? std::string("(disconnected)") : format_endpoint(ep);
}

acceptor::acceptor(asio::io_context& io, asio_tcp::acceptor a, options o)
    : io_(io), acceptor_(std::move(a)), opts_(o) {}

asio_tcp::endpoint acceptor::local_endpoint() const {
  error_code ec;
  return acceptor_.local_endpoint(ec);
}

std::string acceptor::name() const { return "tcp://" + format_endpoint(local_endpoint()); }

result<listener_list> listen(const uri& u, asio::io_context& io) {
  auto spec = parse(u);
  if (!spec) return spec.err();
  asio_tcp::resolver resolver(io);
  error_code ec;
  auto results = resolver.resolve(spec->host, std::to_string(spec->port),
                                  asio_tcp::resolver::passive | asio_tcp::resolver::numeric_service, ec);
  if (ec)
    return error{ec, fmt::format("{}: cannot resolve '{}': {}; check the name or give an address such "
                                 "as [::1] or [::]", u.text, spec->host, ec.message())};

  listener_list out;
  std::uint16_t port = spec->port;  // port 0: the first bind picks, the rest follow
  std::optional<error> first_failure;
  for (const auto& entry : results) {
    auto ep = entry.endpoint();
    if (port != 0) ep.port(port);
    // Each acceptor lives on a strand so stop() from another thread is safe.
    asio_tcp::acceptor a(asio::make_strand(io));
    a.open(ep.protocol(), ec);
    if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec && spec->opts.reuseport)
      a.set_option(asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true), ec);
    if (!ec && ep.address().is_v6()) a.set_option(asio::ip::v6_only(spec->opts.v6only), ec);
    if (!ec) a.bind(ep, ec);
    if (!ec) a.listen(spec->opts.backlog, ec);
    if (ec) {
      // A family this machine lacks (no IPv6, say) is worth a warning, not a
      // failure, when another address of the name works; anything else is.
      if (ec == asio::error::address_family_not_supported || ec == boost::system::errc::address_not_available) {
        if (!first_failure) first_failure = bind_error(u, ep, ec);
        spdlog::warn("{}", bind_error(u, ep, ec).message);
        continue;
      }
      return bind_error(u, ep, ec);
    }
    port = a.local_endpoint().port();
    out.push_back(std::make_unique<basic_listener<acceptor>>(acceptor(io, std::move(a), spec->opts)));
  }
  if (out.empty()) {
    if (first_failure) return *first_failure;
    return error{make_error_code(errc::bad_uri),
                 fmt::format("{}: '{}' resolved to no address", u.text, spec->host)};
  }
  return out;
}

asio::awaitable<result<link>> connect(const uri& u, asio::any_io_executor ex) {
  auto spec = parse(u);
  if (!spec) co_return spec.err();
  asio_tcp::resolver resolver(ex);
  auto [rec, results] = co_await resolver.async_resolve(spec->host, std::to_string(spec->port),
                                                        asio_tcp::resolver::numeric_service,
                                                        asio::as_tuple(asio::use_awaitable));
  if (rec)
    co_return error{rec, fmt::format("{}: cannot resolve '{}': {}; check the name or give an address "
                                     "such as [::1]", u.text, spec->host, rec.message())};
  asio_tcp::socket s(ex);
  auto [cec, ep] = co_await asio::async_connect(s, results, asio::as_tuple(asio::use_awaitable));
  if (cec) {
    std::string tried;
    for (const auto& e : results) tried += fmt::format("{}{}", tried.empty() ? "" : ", ", format_endpoint(e.endpoint()));
    std::string hint = cec == asio::error::connection_refused ? "; is an echo server listening there?" : "";
    co_return error{cec, fmt::format("{}: cannot connect (tried {}): {}{}", u.text, tried, cec.message(), hint)};
  }
  link l(std::move(s));
  if (auto ec = l.configure(spec->opts))
    co_return error{ec, fmt::format("{}: cannot configure the socket: {}", u.text, ec.message())};
  co_return l;
}

transport make_transport() {
  transport t;
  t.scheme = "tcp";
  t.summary = "TCP, IPv6 first; [::] is dual-stack and takes IPv4 peers too";
  t.listen_example = "tcp://[::]:50007   (tcp://[::1]:0 picks a free port)";
  t.connect_example = "tcp://[::1]:50007   (tcp://localhost:50007 tries every address)";
  t.options_help = "v6only=1 (no IPv4-mapped peers), nodelay=0 (allow Nagle), backlog=N, reuseport=1";
  t.listens_per_thread = true;
  t.validate = validate_with<&parse>;
  t.listen = [](const uri& u, asio::io_context& io) { return listen(u, io); };
  t.connect = connect_as_any_link<&connect>;
  return t;
}

void register_transports(registry& r) { r.add(make_transport()); }

}  // namespace anysock::tcp
