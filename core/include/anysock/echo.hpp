// The echo service, written once against the link concept and instantiated
// per transport. It never includes a transport header.
//
// Memory is what shapes it: a server holds thousands of idle links, so an
// idle link holds no coroutine and no buffer — only one small wait for
// readability. (A suspended C++20 coroutine costs every idle link its frame
// plus Asio's co_spawn and operation frames: five allocations, ~2.1 KiB,
// measured with heaptrack; see bench/ and the README.) When the link becomes
// readable, everything queued is read into the thread's scratch buffer and
// written straight back. Only what the kernel would not take is copied into
// the link's own buffer, and nothing more is read until that is sent:
// backpressure, so a client that never reads cannot grow server memory.
#pragma once

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

// A per-thread scratch buffer of at least `at_least` bytes (64 KiB or more):
// every message is received into it and used only until the next wait.
std::span<std::byte> drain_buffer(std::size_t at_least);

namespace detail {

// What one turn over the queued messages ended with.
enum class turn_end {
  wait,  // nothing queued: wait for readability
  yield, // more may be queued: let the thread's other links run first
  send,  // the kernel took part of an echo: send the rest, then go on
  stop,  // the link is done (`why` says why: eof when the peer closed)
};

// A bound on messages per turn, so that one busy link (a CAN bus, a fast
// stream) cannot hold the thread from the other links.
inline constexpr unsigned messages_per_turn = 64;

// Echoes what is queued on the link now, without blocking. The header of
// the message being answered is left in `h` for a pending send.
template <link L>
turn_end echo_queued(L& link, session& s, message_header& h, std::vector<std::byte>& pending, error_code& why) {
  const auto rx = drain_buffer(link.receive_size());
  for (unsigned i = 0; i < messages_per_turn; ++i) {
    h = {};
    error_code ec;
    const std::size_t n = link.try_receive(asio::buffer(rx.data(), rx.size()), h, ec);
    if (ec == asio::error::would_block) return turn_end::wait;
    if (ec == asio::error::try_again) return turn_end::yield;
    if (ec) {
      why = ec;
      return turn_end::stop;
    }
    s.touch();
    s.count(n, n);
    const asio::const_buffer data(rx.data(), n);
    log_payload(s, "in", data);
    const std::size_t done = link.try_send(data, h, ec);
    if (ec && ec != asio::error::would_block) {
      why = ec;
      return turn_end::stop;
    }
    if (done < n) {
      pending.assign(rx.data() + done, rx.data() + n);
      return turn_end::send;
    }
    if (s.draining()) {
      why = asio::error::operation_aborted;
      return turn_end::stop;
    }
  }
  return turn_end::yield;
}

}  // namespace detail

// A link being echoed: owns the link, runs turns when it is readable, and
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
    run(std::move(self));
  }

 private:
  using owner = std::unique_ptr<echoed_link>;

  echoed_link(L link, session& s, Done done) : link_(std::move(link)), session_(s), done_(std::move(done)) {}

  static void run(owner self) {
    auto& me = *self;
    error_code why;
    detail::turn_end next;
    try {
      next = detail::echo_queued(me.link_, me.session_, me.header_, me.pending_, why);
    } catch (const std::bad_alloc&) {  // a link that cannot get memory ends; the server goes on
      next = detail::turn_end::stop;
      why = asio::error::no_memory;
    }
    switch (next) {
      case detail::turn_end::wait:
        return me.link_.async_wait_readable([self = std::move(self)](error_code ec) mutable {
          if (ec) return finish(std::move(self), ec);
          run(std::move(self));
        });
      case detail::turn_end::yield:
        return asio::post(me.link_.get_executor(), [self = std::move(self)]() mutable { run(std::move(self)); });
      case detail::turn_end::send:
        me.session_.set_busy(true);
        return me.link_.async_send(asio::buffer(me.pending_), me.header_,
                                   [self = std::move(self)](error_code ec, std::size_t) mutable {
                                     self->session_.set_busy(false);
                                     std::vector<std::byte>().swap(self->pending_);  // an idle link parks no copy
                                     if (!ec && self->session_.draining()) ec = asio::error::operation_aborted;
                                     if (ec) return finish(std::move(self), ec);
                                     self->session_.touch();
                                     run(std::move(self));
                                   });
      case detail::turn_end::stop:
        return finish(std::move(self), why);
    }
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
  message_header header_;          // of the message whose echo is pending
  std::vector<std::byte> pending_; // what the kernel would not take at once
};

// Echoes every message back on `link` until the peer leaves, an error
// occurs, or the session drains; then calls done(why).
template <link L, class Done>
void start_echo(L link, session& s, Done done) {
  echoed_link<L, Done>::start(std::move(link), s, std::move(done));
}

}  // namespace anysock
