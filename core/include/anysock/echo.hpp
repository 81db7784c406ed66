// The echo service: one coroutine, written once against the link concept,
// instantiated per transport. It never includes a transport header.
#pragma once

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/deferred.hpp>
#include <cstring>
#include <span>
#include <vector>

#include "anysock/link.hpp"
#include "anysock/log.hpp"
#include "anysock/session.hpp"

namespace anysock {

// A per-thread scratch buffer for draining a stream after a read filled the
// link's small buffer. Used only between two co_awaits, never across one.
std::span<std::byte> drain_buffer();

namespace detail {

// What became of one received message: its size, an error that ends the
// echo now, or one met while draining (echo first, then stop). What the
// kernel would not take at once is left in `pending`.
struct echo_step {
  std::size_t size = 0;
  error_code fail;
  error_code end_after_echo;
};

// Everything between receiving and (maybe) waiting to send, outside the
// coroutine: GCC keeps every local of a coroutine in its frame, which every
// idle link holds, so these locals live on the stack instead.
template <link L>
echo_step echo_received(L& link, session& s, message_header& h, asio::mutable_buffer rx, std::size_t n,
                        std::vector<std::byte>& pending) {
  echo_step step;
  asio::const_buffer data(rx.data(), n);
  if constexpr (L::is_stream) {
    if (n == rx.size()) {  // the small buffer is full: more is probably queued
      auto big = drain_buffer();
      std::memcpy(big.data(), rx.data(), n);
      std::size_t total = n;
      while (total < big.size()) {
        error_code rec;
        auto m = link.try_receive(asio::buffer(big.data() + total, big.size() - total), h, rec);
        total += m;
        if (rec) {
          if (rec != asio::error::would_block) step.end_after_echo = rec;
          break;
        }
        if (m == 0) break;
      }
      data = asio::const_buffer(big.data(), total);
    }
  }
  log_payload(s, "in", data);
  step.size = data.size();
  error_code wec;
  std::size_t done = link.try_send(data, h, wec);
  if (wec && wec != asio::error::would_block) {
    step.fail = wec;
    return step;
  }
  if (done < data.size()) {
    auto bytes = static_cast<const std::byte*>(data.data());
    pending.assign(bytes + done, bytes + data.size());
  }
  return step;
}

}  // namespace detail

// Echoes every message back on the same link until the peer leaves, an error
// occurs, or the server drains. Returns why it stopped (eof when the peer
// closed cleanly).
//
// Memory: a stream link parks only a small buffer while idle; when a read
// fills it, the rest is drained without blocking into the per-thread buffer
// and written back at once. Only what the kernel would not take is copied to
// the link's own buffer (and freed once sent), and no more is read until
// that write completes: backpressure, so a client that never reads cannot
// grow server memory.
template <link L>
asio::awaitable<error_code> echo(L& link, session& s) {
  constexpr std::size_t small_size = 128;  // bigger costs every idle link; see bench/
  std::array<std::byte, small_size> small;
  std::vector<std::byte> message_buffer;  // frame families: one whole message
  std::vector<std::byte> pending;         // what the kernel would not take at once
  asio::mutable_buffer rx = asio::buffer(small);
  if constexpr (!L::is_stream) {
    message_buffer.resize(link.receive_size());
    rx = asio::buffer(message_buffer);
  }

  unsigned since_yield = 0;
  for (;;) {
    // A frame link may hand over queued frames without suspending (see the
    // CAN link): give the other links on this thread their turn now and then.
    if constexpr (!L::is_stream) {
      if (++since_yield == 64) {
        since_yield = 0;
        co_await asio::post(link.get_executor(), asio::deferred);
      }
    }
    message_header h{};
    auto [ec, n] = co_await link.async_receive(rx, h, asio::as_tuple(asio::deferred));
    if (ec) co_return ec;
    s.touch();
    const detail::echo_step step = detail::echo_received(link, s, h, rx, n, pending);
    if (step.fail) co_return step.fail;
    if (!pending.empty()) {
      s.set_busy(true);
      auto [sec, sent] = co_await link.async_send(asio::buffer(pending), h, asio::as_tuple(asio::deferred));
      s.set_busy(false);
      std::vector<std::byte>().swap(pending);  // an idle link parks no copy
      if (sec) co_return sec;
    }
    s.touch();
    s.count(step.size, step.size);
    if (step.end_after_echo) co_return step.end_after_echo;
    if (s.draining()) co_return asio::error::operation_aborted;
  }
}

}  // namespace anysock
