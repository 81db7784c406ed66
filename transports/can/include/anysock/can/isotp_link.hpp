// An ISO-TP link: one message is one ISO 15765-2 PDU (up to 4095 bytes
// classic, more with FD), segmented and flow-controlled by the kernel.
#pragma once

#include <boost/asio/compose.hpp>
#include <string>

#include "anysock/can/config.hpp"
#include "anysock/can/interface.hpp"
#include "anysock/can/protocol.hpp"
#include "anysock/can/queued_send.hpp"
#include "anysock/link.hpp"

namespace anysock::can {

class isotp_link {
 public:
  using executor_type = asio::any_io_executor;
  static constexpr bool is_stream = false;

  isotp_link(isotp::socket s, std::string description) : socket_(std::move(s)), description_(std::move(description)) {}
  static isotp_link closed(const asio::any_io_executor& ex) { return isotp_link(isotp::socket(ex), "closed"); }

  executor_type get_executor() { return socket_.get_executor(); }
  // The kernel's default max_pdu_size is 8300; a larger buffer costs one
  // allocation per link and never truncates what a peer may send.
  std::size_t receive_size() const { return 65536; }
  std::string peer() const { return description_; }
  void close() {
    error_code ignored;
    socket_.close(ignored);
  }

  // What the kernel reports about one transfer does not end the link: a
  // peer's broken PDU (wrong sequence number, bad padding, too long, a
  // missing consecutive frame), a reply the peer never sent flow control
  // for, or the interface going down (a bitrate change; the socket hears the
  // bus again once it is back up). Each is logged and the receive goes on.
  template <class Token>
  auto async_receive(asio::mutable_buffer b, message_header&, Token&& token) {
    return asio::async_compose<Token, void(error_code, std::size_t)>(
        [this, b, started = false](auto& self, error_code ec = {}, std::size_t n = 0) mutable {
          if (started && outlived(ec)) started = false;
          if (!started) {
            started = true;
            return socket_.async_receive(b, std::move(self));
          }
          if (!ec) down_.traffic(description_);
          self.complete(ec, n);
        },
        token, socket_);
  }
  // Waits while the interface's transmit queue is full (queued_send.hpp).
  template <class Token>
  auto async_send(asio::const_buffer b, const message_header&, Token&& token) {
    return async_send_queued(socket_, b, [this] { return description_; }, std::forward<Token>(token));
  }
  // The socket is non-blocking (open_isotp): a PDU whole, or would_block
  // (also when the transmit queue is full: the awaited send waits for room).
  std::size_t try_receive(asio::mutable_buffer b, message_header&, error_code& ec) {
    std::size_t n = socket_.receive(b, 0, ec);
    if (outlived(ec)) {
      ec = asio::error::interrupted;  // try again: see link.hpp
    } else if (!ec) {
      down_.traffic(description_);
    }
    return n;
  }
  std::size_t try_send(asio::const_buffer b, const message_header&, error_code& ec) {
    std::size_t n = socket_.send(b, 0, ec);
    if (ec == asio::error::no_buffer_space) ec = asio::error::would_block;
    return n;
  }

 private:
  // True (and logged) for an error the link outlives: see async_receive.
  bool outlived(const error_code& ec);

  isotp::socket socket_;
  std::string description_;
  down_watch down_;
};

result<isotp::socket> open_isotp(const uri& u, const asio::any_io_executor& ex, const isotp_config& c);

}  // namespace anysock::can
