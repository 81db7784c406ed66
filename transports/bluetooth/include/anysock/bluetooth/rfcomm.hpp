// Bluetooth RFCOMM: the link, the acceptor and the registration of the
// rfcomm:// scheme. A stream transport like TCP: Asio's own stream socket
// and acceptor templates over the protocol class in protocol.hpp do the I/O.
#pragma once

#include <boost/asio/deferred.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <memory>
#include <string>

#include "anysock/executor_threads.hpp"
#include "anysock/link.hpp"
#include "anysock/registry.hpp"
#include "anysock/stream_link.hpp"
#include "anysock/bluetooth/rfcomm_protocol.hpp"
#include "anysock/bluetooth/rfcomm_uri.hpp"

namespace anysock::rfcomm {

class sdp_record;

// RFCOMM has no half-close: shutting down the write side tears the whole
// channel down (the kernel sends DISC). So nothing here ever shuts down one
// direction; close() is the only end, and only once the echo is complete.
class link : public stream_link<rfcomm::socket> {
 public:
  using stream_link::stream_link;

  // Non-blocking, for the try_ calls the echo uses.
  error_code configure();
  // The remote device's address.
  std::string peer() const;
};

// One listening RFCOMM socket and the SDP record that advertises it.
// Accepted links live on the acceptor's io_context (no strand where one
// thread runs it, as `anysock serve` does: see link_executor).
class acceptor {
 public:
  using link_type = link;

  acceptor(asio::io_context& io, rfcomm::acceptor a, std::shared_ptr<sdp_record> record);

  auto get_executor() { return acceptor_.get_executor(); }
  std::string name() const;

  template <class Token>
  auto async_accept(Token&& token) {
    return acceptor_.async_accept(link_executor(*io_),
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

// The rfcomm:// scheme (bluetooth.hpp registers it).
transport make_transport();

}  // namespace anysock::rfcomm
