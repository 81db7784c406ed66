// An ISO-TP link: one message is one ISO 15765-2 PDU (up to 4095 bytes
// classic, more with FD), segmented and flow-controlled by the kernel.
#pragma once

#include <string>

#include "anysock/can/config.hpp"
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

  template <class Token>
  auto async_receive(asio::mutable_buffer b, message_header&, Token&& token) {
    return socket_.async_receive(b, std::forward<Token>(token));
  }
  // Waits while the interface's transmit queue is full (queued_send.hpp).
  template <class Token>
  auto async_send(asio::const_buffer b, const message_header&, Token&& token) {
    return async_send_queued(socket_, b, [this] { return description_; }, std::forward<Token>(token));
  }
  // The socket is non-blocking (open_isotp): a PDU whole, or would_block
  // (also when the transmit queue is full: the awaited send waits for room).
  std::size_t try_receive(asio::mutable_buffer b, message_header&, error_code& ec) {
    return socket_.receive(b, 0, ec);
  }
  std::size_t try_send(asio::const_buffer b, const message_header&, error_code& ec) {
    std::size_t n = socket_.send(b, 0, ec);
    if (ec == asio::error::no_buffer_space) ec = asio::error::would_block;
    return n;
  }

 private:
  isotp::socket socket_;
  std::string description_;
};

result<isotp::socket> open_isotp(const uri& u, const asio::any_io_executor& ex, const isotp_config& c);

}  // namespace anysock::can
