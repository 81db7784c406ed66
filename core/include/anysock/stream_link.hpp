// A link over any Asio stream socket (TCP, RFCOMM, ...): whatever bytes
// arrived are one message. A transport derives from it for its own peer()
// and setup; the I/O is Asio's.
#pragma once

#include <boost/asio/write.hpp>
#include <cstddef>
#include <utility>

#include "anysock/link.hpp"

namespace anysock {

template <class Socket>
class stream_link {
 public:
  using executor_type = typename Socket::executor_type;
  static constexpr bool is_stream = true;

  explicit stream_link(Socket s) : socket_(std::move(s)) {}

  executor_type get_executor() { return socket_.get_executor(); }
  // A good size to drain with: one read often returns several segments.
  std::size_t receive_size() const { return 64 * 1024; }

  template <class Token>
  auto async_receive(asio::mutable_buffer b, message_header&, Token&& token) {
    return socket_.async_read_some(b, std::forward<Token>(token));
  }
  template <class Token>
  auto async_send(asio::const_buffer b, const message_header&, Token&& token) {
    return asio::async_write(socket_, b, std::forward<Token>(token));
  }
  // The socket must be non-blocking (the transport's setup does it).
  std::size_t try_receive(asio::mutable_buffer b, message_header&, error_code& ec) {
    return socket_.read_some(b, ec);
  }
  std::size_t try_send(asio::const_buffer b, const message_header&, error_code& ec) {
    return socket_.write_some(b, ec);
  }
  void close() {
    error_code ignored;
    socket_.close(ignored);
  }
  Socket& socket() { return socket_; }

 protected:
  Socket socket_;
};

}  // namespace anysock
