// Sending on a CAN socket whose transmit queue may be full.
//
// Why this exists: when the interface's queue (the qdisc, txqueuelen frames
// deep; 10 by default for CAN) is full, send() fails with ENOBUFS instead of
// blocking or saying EAGAIN, and waiting for POLLOUT does not help: POLLOUT
// follows the socket's send buffer, which a few queued frames leave far from
// full, so it is ready at once and a retry on it spins. Real controllers hit
// this whenever the bus is slower than the sender (a busy or disconnected
// bus, a bus-off controller); vcan never does, as it has no queue unless one
// is added. Asio's send reports ENOBUFS as an error, which would end the
// link. So: back off on a timer and send again, for as long as it takes —
// like a blocking socket would wait on a full buffer — and say so in the log
// once a frame has waited for a second, so a stalled bus is not silent.
#pragma once

#include <boost/asio/compose.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <utility>

#include <spdlog/spdlog.h>

#include "anysock/link.hpp"

namespace anysock::can {

namespace queued_send_detail {

// First back-off: about one classic frame's time on a 500 kbit/s bus.
inline constexpr std::chrono::microseconds first_delay{250};
inline constexpr std::chrono::microseconds max_delay{8000};
inline constexpr std::chrono::seconds warn_after{1};

template <class Socket, class Describe>
struct op {
  Socket& socket;
  asio::const_buffer buffer;
  Describe describe;  // names the link in the log
  std::unique_ptr<asio::steady_timer> timer{};  // only once the queue was full
  std::chrono::microseconds delay{first_delay};
  std::chrono::steady_clock::time_point first_full{};
  bool waiting = false, warned = false;

  template <class Self>
  void operator()(Self& self) {
    socket.async_send(buffer, std::move(self));
  }
  // The send completed, or (waiting) the back-off ended.
  template <class Self>
  void operator()(Self& self, error_code ec, std::size_t n = 0) {
    if (waiting) {
      waiting = false;
      if (ec) return self.complete(ec, 0);  // cancelled
      return socket.async_send(buffer, std::move(self));
    }
    if (ec != asio::error::no_buffer_space) {
      if (warned && !ec)
        spdlog::info("{}: transmit queue has room again after {:.1f} s", describe(), seconds_since(first_full));
      return self.complete(ec, n);
    }
    const auto now = std::chrono::steady_clock::now();
    if (!timer) {
      timer = std::make_unique<asio::steady_timer>(socket.get_executor());
      first_full = now;
    } else if (!warned && now - first_full >= warn_after) {
      warned = true;
      spdlog::warn(
          "{}: transmit queue full (ENOBUFS) for {:.1f} s, still retrying: the bus may be off or busier than "
          "it can carry; check it with `ip -details -statistics link show`, and a longer queue "
          "(`ip link set <if> txqueuelen 1000`) absorbs bursts",
          describe(), seconds_since(first_full));
    }
    timer->expires_after(delay);
    delay = std::min(delay * 2, max_delay);
    waiting = true;
    timer->async_wait(std::move(self));
  }

  static double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  }
};

}  // namespace queued_send_detail

// Sends `b` as one datagram on `s`, waiting while the transmit queue is full
// (see above). `describe()` names the link for the log. Completes with the
// bytes sent or the first other error.
template <class Socket, class Describe, class Token>
auto async_send_queued(Socket& s, asio::const_buffer b, Describe describe, Token&& token) {
  return asio::async_compose<Token, void(error_code, std::size_t)>(
      queued_send_detail::op<Socket, Describe>{s, b, std::move(describe)}, token, s);
}

}  // namespace anysock::can
