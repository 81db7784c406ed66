// The echo service, written once against the link concept and instantiated
// per transport. It never includes a transport header.
//
// Memory is what shapes it: a server holds thousands of idle links, so an
// idle link holds no coroutine — only one pending receive into a small
// buffer. (A suspended C++20 coroutine would cost every idle link its frame
// plus Asio's co_spawn and operation frames; bench/README.md, "Idle
// memory".) The wait is the link's own
// async_receive, not a bare readiness wait: Asio's receive tries the socket
// under the reactor's lock, so no readiness edge is lost even when several
// threads run the io_context. When a read fills the small buffer, the rest
// is drained without blocking into the thread's scratch buffer and written
// back at once. Only what the kernel would not take is copied into the
// link's own buffer, and nothing more is read until that is sent:
// backpressure, so a client that never reads cannot grow server memory.
#pragma once

#include <array>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <cstring>
#include <memory>
#include <new>
#include <span>
#include <utility>
#include <vector>

#include "anysock/link.hpp"
#include "anysock/log.hpp"
#include "anysock/session.hpp"

namespace anysock {

// A per-thread 64 KiB scratch buffer for draining a stream after a read
// filled the link's small buffer. Used only within one completion handler,
// never across a wait.
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

// Echoes one received message (draining a stream first when the read
// filled the small buffer), without blocking.
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
        const std::size_t room = big.size() - total;
        auto m = link.try_receive(asio::buffer(big.data() + total, room), h, rec);
        total += m;
        if (rec) {
          if (rec != asio::error::would_block) step.end_after_echo = rec;
          break;
        }
        // A short read emptied the socket: no read to EAGAIN here, as the
        // next receive (Asio's) tries the socket before it waits anyway.
        if (m == 0 || m < room) break;
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

// A link being echoed: owns the link, echoes each message it receives, and
// calls `done(why)` once it is over (eof when the peer closed cleanly). The
// object lives on the heap and is handed from one completion handler to the
// next, so exactly one operation owns it at any time.
template <link L, class Done>
class echoed_link {
 public:
  // Starts echoing; `s.close_link` closes this link until it is done.
  static void start(L link, session& s, Done done) {
    owner self(new echoed_link(std::move(link), s, std::move(done)));
    s.close_link = [&l = self->link_] { l.close(); };
    receive(std::move(self));
  }

 private:
  using owner = std::unique_ptr<echoed_link>;
  static constexpr std::size_t small_size = 128;  // bigger costs every idle link; see bench/

  echoed_link(L link, session& s, Done done) : link_(std::move(link)), session_(s), done_(std::move(done)) {
    if constexpr (!L::is_stream) frame_.resize(link_.receive_size());
  }

  asio::mutable_buffer rx() {
    if constexpr (L::is_stream) return asio::buffer(small_);
    return asio::buffer(frame_);
  }

  static void receive(owner self) {
    auto& me = *self;
    me.header_ = {};
    me.link_.async_receive(me.rx(), me.header_, [self = std::move(self)](error_code ec, std::size_t n) mutable {
      if (ec) return finish(std::move(self), ec);
      echo(std::move(self), n);
    });
  }

  static void echo(owner self, std::size_t n) {
    auto& me = *self;
    me.session_.touch();
    detail::echo_step step;
    try {
      step = detail::echo_received(me.link_, me.session_, me.header_, me.rx(), n, me.pending_);
    } catch (const std::bad_alloc&) {  // a link that cannot get memory ends; the server goes on
      step.fail = asio::error::no_memory;
    }
    if (step.fail) return finish(std::move(self), step.fail);
    me.session_.count(step.size, step.size);
    if (me.pending_.empty()) return next(std::move(self), step.end_after_echo);
    me.session_.set_busy(true);
    me.link_.async_send(asio::buffer(me.pending_), me.header_,
                        [self = std::move(self), end = step.end_after_echo](error_code ec, std::size_t) mutable {
                          self->session_.set_busy(false);
                          std::vector<std::byte>().swap(self->pending_);  // an idle link parks no copy
                          if (ec) return finish(std::move(self), ec);
                          self->session_.touch();
                          next(std::move(self), end);
                        });
  }

  // After a message is echoed whole: stop, or receive the next one. A link
  // may complete a receive inside the call when a message is queued (the
  // CAN link does): every 64 messages the next receive is posted, which
  // bounds the stack and gives the thread's other links their turn.
  static void next(owner self, error_code end) {
    if (!end && self->session_.draining()) end = asio::error::operation_aborted;
    if (end) return finish(std::move(self), end);
    if (++self->since_yield_ < 64) return receive(std::move(self));
    self->since_yield_ = 0;
    auto ex = self->link_.get_executor();
    asio::post(ex, [self = std::move(self)]() mutable { receive(std::move(self)); });
  }

  static void finish(owner self, error_code why) {
    self->session_.close_link = nullptr;
    self->link_.close();
    Done done = std::move(self->done_);
    self.reset();
    done(why);
  }

  L link_;
  session& session_;
  Done done_;
  message_header header_;           // of the message being echoed
  std::array<std::byte, small_size> small_;  // streams: what one read takes while idle
  std::vector<std::byte> frame_;    // frame families: one whole message
  std::vector<std::byte> pending_;  // what the kernel would not take at once
  unsigned since_yield_ = 0;
};

// Echoes every message back on `link` until the peer leaves, an error
// occurs, or the session drains; then calls done(why).
template <link L, class Done>
void start_echo(L link, session& s, Done done) {
  echoed_link<L, Done>::start(std::move(link), s, std::move(done));
}

}  // namespace anysock
