// Bluetooth RFCOMM: the link, the acceptor and the registration of the
// rfcomm:// scheme. A stream transport like TCP: Asio's own stream socket
// and acceptor templates over the protocol class in protocol.hpp do the I/O.
#pragma once

#include <boost/asio/deferred.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <memory>
#include <string>

#include "anysock/link.hpp"
#include "anysock/registry.hpp"
#include "anysock/rfcomm/config.hpp"
#include "anysock/rfcomm/protocol.hpp"

namespace anysock::rfcomm {

class sdp_record;

// RFCOMM has no half-close: shutting down the write side tears the whole
// channel down (the kernel sends DISC). So nothing here ever shuts down one
// direction; close() is the only end, and only once the echo is complete.
class link {
 public:
  using executor_type = asio::any_io_executor;
  static constexpr bool is_stream = true;

  explicit link(rfcomm::socket s) : socket_(std::move(s)) {}

  // Non-blocking, for the try_ calls the echo uses.
  error_code configure();

  executor_type get_executor() { return socket_.get_executor(); }
  // A good size to drain with: several RFCOMM frames (the MTU is ~1 KiB by
  // default, up to 32 KiB), one read often returns several.
  std::size_t receive_size() const { return 64 * 1024; }

  template <class Token>
  auto async_receive(asio::mutable_buffer b, message_header&, Token&& token) {
    return socket_.async_read_some(b, std::forward<Token>(token));
  }
  template <class Token>
  auto async_send(asio::const_buffer b, const message_header&, Token&& token) {
    return asio::async_write(socket_, b, std::forward<Token>(token));
  }
  std::size_t try_receive(asio::mutable_buffer b, message_header&, error_code& ec) {
    return socket_.read_some(b, ec);
  }
  std::size_t try_send(asio::const_buffer b, const message_header&, error_code& ec) {
    return socket_.write_some(b, ec);
  }
  // The remote device's address.
  std::string peer() const;
  void close() {
    error_code ignored;
    socket_.close(ignored);
  }
  rfcomm::socket& socket() { return socket_; }

 private:
  rfcomm::socket socket_;
};

// One listening RFCOMM socket and the SDP record that advertises it.
// Accepted links live on the acceptor's io_context (no strand: one thread
// runs each io_context, as for TCP).
class acceptor {
 public:
  using link_type = link;

  acceptor(asio::io_context& io, rfcomm::acceptor a, std::shared_ptr<sdp_record> record);

  auto get_executor() { return acceptor_.get_executor(); }
  std::string name() const;

  template <class Token>
  auto async_accept(Token&& token) {
    return acceptor_.async_accept(asio::any_io_executor(io_->get_executor()),
                                  asio::deferred([](error_code ec, rfcomm::socket s) {
                                    link l(std::move(s));
                                    if (!ec) ec = l.configure();
                                    return asio::deferred.values(ec, std::move(l));
                                  }))(std::forward<Token>(token));
  }
  // Stops accepting and withdraws the SDP record, so phones stop offering
  // a service that is going away.
  void close();
  rfcomm::endpoint local_endpoint() const;

 private:
  asio::io_context* io_;
  rfcomm::acceptor acceptor_;
  std::shared_ptr<sdp_record> record_;
};

// Binds the adapter (or every adapter) named by the URI on its channel, or
// the first free one; publishes the SDP record when bluetoothd allows it.
result<listener_list> listen(const uri& u, asio::io_context& io);

// Connects to ADDR:CH, or to the channel SDP names for the service UUID.
asio::awaitable<result<link>> connect(const uri& u, asio::any_io_executor ex);

transport make_transport();
void register_transports(registry& r);

}  // namespace anysock::rfcomm
