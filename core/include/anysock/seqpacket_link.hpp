// A link over any Asio sequenced-packet socket (L2CAP, SCTP, AF_UNIX
// SOCK_SEQPACKET): one receive is one whole message and one send is one
// message, so the echo and a bridge keep the sender's boundaries.
#pragma once

#include <boost/asio/error.hpp>
#include <boost/asio/socket_base.hpp>
#include <cstddef>
#include <utility>

#include "anysock/link.hpp"

namespace anysock {

template <class Socket>
class seqpacket_link {
 public:
  using executor_type = typename Socket::executor_type;
  static constexpr bool is_stream = false;

  // receive_size: the largest message the peer may send (its MTU toward us).
  seqpacket_link(Socket s, std::size_t receive_size) : socket_(std::move(s)), receive_size_(receive_size) {}

  executor_type get_executor() { return socket_.get_executor(); }
  std::size_t receive_size() const { return receive_size_; }

  // A read of 0 bytes is the peer's end (the kernel's answer once the
  // channel is shut down, again on every read): reported as eof, so nothing
  // spins on it. A zero-length message is therefore an end too.
  template <class Token>
  auto async_receive(asio::mutable_buffer b, message_header&, Token&& token) {
    return socket_.async_receive(b, flags_,
                                 asio::deferred([](error_code ec, std::size_t n) {
                                   if (!ec && n == 0) ec = asio::error::eof;
                                   return asio::deferred.values(ec, n);
                                 }))(std::forward<Token>(token));
  }
  template <class Token>
  auto async_send(asio::const_buffer b, const message_header&, Token&& token) {
    return socket_.async_send(b, 0, std::forward<Token>(token));
  }
  // The socket must be non-blocking (the transport's setup does it).
  std::size_t try_receive(asio::mutable_buffer b, message_header&, error_code& ec) {
    const std::size_t n = socket_.receive(b, 0, flags_, ec);
    if (!ec && n == 0) ec = asio::error::eof;
    return n;
  }
  // All or nothing: a sequenced-packet socket never sends part of a message.
  std::size_t try_send(asio::const_buffer b, const message_header&, error_code& ec) {
    return socket_.send(b, 0, ec);
  }
  void close() {
    error_code ignored;
    socket_.close(ignored);
  }
  Socket& socket() { return socket_; }

 protected:
  Socket socket_;
  std::size_t receive_size_;
  asio::socket_base::message_flags flags_ = 0;  // what the last receive said (MSG_EOR, MSG_TRUNC)
};

}  // namespace anysock
