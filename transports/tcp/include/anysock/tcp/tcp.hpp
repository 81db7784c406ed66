// TCP over IPv6 first (dual-stack), IPv4 too: the link, the acceptor and the
// registration of the tcp:// scheme. Asio's own socket types do the I/O.
#pragma once

#include <boost/asio/deferred.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <string>

#include "anysock/executor_threads.hpp"
#include "anysock/link.hpp"
#include "anysock/registry.hpp"
#include "anysock/stream_link.hpp"
#include "anysock/tcp/config.hpp"

namespace anysock::tcp {

using asio_tcp = asio::ip::tcp;

// "[::1]:50007", "127.0.0.1:7"; an IPv4-mapped address stays as the kernel
// reports it ("[::ffff:127.0.0.1]:40000") so the operator sees the real path.
std::string format_endpoint(const asio_tcp::endpoint& ep);

class link : public stream_link<asio_tcp::socket> {
 public:
  using stream_link::stream_link;

  // Puts the socket in the shape the echo expects: non-blocking for the
  // try_ calls, TCP_NODELAY as configured.
  error_code configure(const options& o);
  std::string peer() const;
  // Half-close: the peer reads what was sent, then its end of stream.
  void shutdown_send(error_code& ec) { socket_.shutdown(asio_tcp::socket::shutdown_send, ec); }
};

// One bound, listening socket. Accepted links live on the acceptor's own
// io_context: `anysock serve -t N` runs one io_context per thread, each with
// its own SO_REUSEPORT listener, so a link needs no strand (link_executor
// gives one only where several threads run the io_context).
class acceptor {
 public:
  using link_type = link;

  acceptor(asio::io_context& io, asio_tcp::acceptor a, options o);

  auto get_executor() { return acceptor_.get_executor(); }
  std::string name() const;

  template <class Token>
  auto async_accept(Token&& token) {
    return acceptor_.async_accept(
        link_executor(io_),
        asio::deferred([this](error_code ec, asio_tcp::socket s) {
          link l(std::move(s));
          if (!ec) ec = l.configure(opts_);
          return asio::deferred.values(ec, std::move(l));
        }))(std::forward<Token>(token));
  }
  void close() {
    error_code ignored;
    acceptor_.close(ignored);
  }
  asio_tcp::endpoint local_endpoint() const;

 private:
  asio::io_context& io_;
  asio_tcp::acceptor acceptor_;
  options opts_;
};

// Binds every address the host resolves to (getaddrinfo, passive), on one port.
result<listener_list> listen(const uri& u, asio::io_context& io);

// Resolves the host and tries every address in turn.
asio::awaitable<result<link>> connect(const uri& u, asio::any_io_executor ex);

transport make_transport();
void register_transports(registry& r);

}  // namespace anysock::tcp
