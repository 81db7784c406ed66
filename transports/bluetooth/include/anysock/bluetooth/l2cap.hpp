// Bluetooth L2CAP: the link, the acceptor and the l2cap:// scheme. A
// message family like ISO-TP: Asio's seq_packet socket over the protocol
// class in l2cap_protocol.hpp does the I/O, one SDU per message.
#pragma once

#include <boost/asio/deferred.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <string>

#include "anysock/bluetooth/l2cap_protocol.hpp"
#include "anysock/bluetooth/l2cap_uri.hpp"
#include "anysock/executor_threads.hpp"
#include "anysock/link.hpp"
#include "anysock/registry.hpp"
#include "anysock/seqpacket_link.hpp"

namespace anysock::l2cap {

// What the two sides agreed on once connected.
struct channel_info {
  std::uint16_t receive_mtu = default_mtu;  // the largest SDU the peer may send us
  std::uint16_t send_mtu = default_mtu;     // the largest we may send it
  channel_mode mode = channel_mode::basic;  // BR/EDR; LE: credit-based
  bool le = false;
};

// L2CAP has half-close in the socket API, but a shutdown of one direction
// disconnects the whole channel: nothing here shuts down one side.
class link : public seqpacket_link<l2cap::socket> {
 public:
  link(l2cap::socket s, channel_info info) : seqpacket_link(std::move(s), info.receive_mtu), info_(info) {}

  // Non-blocking, and the negotiated MTUs and mode read back.
  error_code configure();
  // The remote device's address.
  std::string peer() const;
  const channel_info& info() const { return info_; }
  // "MTU in 672, out 672, basic mode" for the log.
  std::string describe() const;
  // One line: the peer and what was negotiated with it.
  void log_channel() const;

  // The kernel refuses a message over the peer's MTU (EMSGSIZE); the log
  // then says which MTU, once per link.
  template <class Token>
  auto async_send(asio::const_buffer b, const message_header& h, Token&& token) {
    return seqpacket_link::async_send(b, h, asio::deferred([this, size = b.size()](error_code ec, std::size_t n) {
                                        if (ec == asio::error::message_size) warn_oversize(size);
                                        return asio::deferred.values(ec, n);
                                      }))(std::forward<Token>(token));
  }
  std::size_t try_send(asio::const_buffer b, const message_header& h, error_code& ec) {
    const std::size_t n = seqpacket_link::try_send(b, h, ec);
    if (ec == asio::error::message_size) warn_oversize(b.size());
    return n;
  }

 private:
  void warn_oversize(std::size_t size);
  channel_info info_;
  bool said_oversize_ = false;
};

// One listening L2CAP socket. Accepted links live on the acceptor's
// io_context (no strand where one thread runs it: see link_executor).
class acceptor {
 public:
  using link_type = link;

  acceptor(asio::io_context& io, l2cap::acceptor a) : io_(&io), acceptor_(std::move(a)) {}

  auto get_executor() { return acceptor_.get_executor(); }
  std::string name() const;

  template <class Token>
  auto async_accept(Token&& token) {
    return acceptor_.async_accept(link_executor(*io_),
                                  asio::deferred([](error_code ec, l2cap::socket s) {
                                    link l(std::move(s), {});
                                    if (!ec) ec = l.configure();
                                    if (!ec) l.log_channel();
                                    return asio::deferred.values(ec, std::move(l));
                                  }))(std::forward<Token>(token));
  }
  void close() {
    error_code ignored;
    acceptor_.close(ignored);
  }
  l2cap::endpoint local_endpoint() const {
    error_code ec;
    return acceptor_.local_endpoint(ec);
  }

 private:
  asio::io_context* io_;
  l2cap::acceptor acceptor_;
};

// Binds the adapter (or every adapter) named by the URI on its PSM, or the
// first free one.
result<listener_list> listen(const uri& u, asio::io_context& io);

// Connects to ADDR:PSM over BR/EDR, or over LE with ?le=1 / ?le=random.
asio::awaitable<result<link>> connect(const uri& u, asio::any_io_executor ex);

// The l2cap:// scheme (bluetooth.hpp registers it).
transport make_transport();

}  // namespace anysock::l2cap
