// The bridge service: every message one link receives is sent on a second
// link, and back, at once. Written once against the link concept, like the
// echo: side A is the listener's own link type, side B (opened per link of
// A, so chosen at run time) an any_link.
//
// Backpressure follows what a side can do. A stream can be held back: it is
// not read while the other side's write is pending, so a slow reader slows
// its sender and memory stays bounded. A bus cannot (frames come
// regardless): what waits for a slow side sits in a bounded queue, and what
// does not fit is dropped, counted and logged.
//
// B may go away and come back (a device reset, a server restart): the
// bridge reconnects with a back-off while A's link stays open; a stream A is
// held back meanwhile, a bus A's messages are dropped and counted.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "anysock/any_link.hpp"
#include "anysock/bridge_config.hpp"
#include "anysock/bridge_io.hpp"
#include "anysock/bridge_log.hpp"
#include "anysock/error.hpp"
#include "anysock/link.hpp"
#include "anysock/log.hpp"
#include "anysock/session.hpp"

namespace anysock {

template <link L>
class bridged_link : public std::enable_shared_from_this<bridged_link<L>> {
 public:
  // One link of A and its B: a coroutine that (re)connects B and forwards
  // B -> A, one that forwards A -> B, and a short-lived one per queue that
  // a slow destination made wait. All run on A's executor, so nothing here
  // needs a lock.
  using done_fn = std::function<void(error_code)>;

  // Starts bridging `a`; `s.close_link` stops it until it is done.
  static void start(L a, session& s, std::shared_ptr<const bridge_config> cfg, done_fn done) {
    std::shared_ptr<bridged_link> self(new bridged_link(std::move(a), s, std::move(cfg), std::move(done)));
    s.close_link = [w = std::weak_ptr<bridged_link>(self)] {
      if (auto p = w.lock()) p->stop();
    };
    asio::co_spawn(self->ex_, self->run(), [self](std::exception_ptr e) {
      if (!e) return;
      self->crashed(e);
      self->finish();
    });
  }

 private:
  bridged_link(L a, session& s, std::shared_ptr<const bridge_config> cfg, done_fn done)
      : a_(std::move(a)), session_(s), cfg_(std::move(cfg)), done_(std::move(done)), ex_(a_.get_executor()),
        wake_(ex_, asio::steady_timer::time_point::max()), stopped_(ex_, asio::steady_timer::time_point::max()),
        retry_(ex_), linger_(ex_) {}

  asio::awaitable<void> run() {
    using namespace asio::experimental::awaitable_operators;
    auto self = this->shared_from_this();
    // A is read once B's first connect has been tried: a bus A's first
    // frames wait in its socket meanwhile instead of being dropped.
    auto start_a = [&] {
      if (a_running_ || a_started_) return;
      a_running_ = a_started_ = true;
      asio::co_spawn(ex_, forward_a(), [self](std::exception_ptr e) {
        self->a_running_ = false;
        self->wake();
        if (e) self->crashed(e);
      });
    };
    unsigned attempt = 0;
    bool outage_said = false;
    while (!stopping_ && !a_ended_) {
      // A stop (drain, idle timeout, A's end) does not wait out a connect.
      auto opened = co_await (cfg_->connect() || stopped_.async_wait(asio::as_tuple(asio::use_awaitable)));
      if (opened.index() == 1 || stopping_ || a_ended_) {
        if (opened.index() == 0 && std::get<0>(opened)) (*std::get<0>(opened))->close();
        break;
      }
      auto& r = std::get<0>(opened);
      if (r || !cfg_->once) start_a();
      if (!r) {
        if (cfg_->once) {
          give_up(r.err().message);
          break;
        }
        if (!outage_said)
          spdlog::warn("{}: {}; retrying with a back-off of up to {} s while {} waits", session_.endpoint(),
                       r.err().message, cfg_->retry_max.count() / 1000, session_.peer());
        outage_said = true;
        retry_.expires_after(retry_delay(attempt++));
        co_await retry_.async_wait(asio::as_tuple(asio::use_awaitable));
        continue;
      }
      b_ = std::shared_ptr<any_link>(std::move(r).value());
      if (outage_said)
        spdlog::info("{}: {} is back after {} attempts; bridging {} again", session_.endpoint(), cfg_->target,
                     attempt + 1, session_.peer());
      else
        spdlog::info("{}: bridging {} <-> {}", session_.endpoint(), session_.peer(), b_->peer());
      attempt = 0;
      outage_said = false;
      wake();
      error_code why = co_await forward_b(b_);
      auto gone = std::exchange(b_, nullptr);
      gone->close();
      wake();
      if (stopping_ || a_ended_ || a_eof_) break;
      if (cfg_->once) {
        give_up(fmt::format("{} went away ({})", cfg_->target, describe_end(why)));
        break;
      }
      spdlog::warn("{}: {} went away ({}); reconnecting while {} waits", session_.endpoint(), cfg_->target,
                   describe_end(why), session_.peer());
      outage_said = true;
    }
    stop();
    while (a_running_ || to_a_.sending || to_b_.sending) co_await wait_for_wake();
    finish();
  }

  // A -> B, for as long as A lasts.
  asio::awaitable<void> forward_a() {
    std::vector<std::byte> buf(read_size(a_));
    const bool held_back = detail::is_stream_link(a_);
    const bool reads_ahead = detail::reads_ahead_link(a_);
    for (unsigned n = 1;; ++n) {
      message_header h{};
      error_code ec;
      std::size_t len = 0;
      if (!detail::take_held(a_, reads_ahead, asio::buffer(buf), h, ec, len))
        std::tie(ec, len) = co_await detail::receive_on(a_, asio::buffer(buf), h);
      if (ec) {
        co_await a_ended(ec);
        co_return;
      }
      session_.touch();
      asio::const_buffer data(buf.data(), len);
      log_payload(session_, "in", data);
      if (held_back) {
        if (!co_await send_to_b_held(data, h)) co_return;
      } else {
        if (auto b = b_)
          pass(to_b_, *b, data, h, true);
        else
          to_b_.drops.dropped(session_, cfg_->target, "it is not connected", to_b_.stats);
      }
      if (stop_if_draining()) co_return;
      if (n % 64 == 0) co_await asio::post(ex_, asio::use_awaitable);  // see echo.hpp's next()
    }
  }

  // B -> A, for as long as this connection to B lasts; its end, why.
  asio::awaitable<error_code> forward_b(std::shared_ptr<any_link> b) {
    std::vector<std::byte> buf(read_size(*b));
    const bool held_back = b->is_stream();
    const bool reads_ahead = b->reads_ahead();
    for (unsigned n = 1;; ++n) {
      message_header h{};
      error_code ec;
      std::size_t len = 0;
      if (!detail::take_held(*b, reads_ahead, asio::buffer(buf), h, ec, len))
        std::tie(ec, len) = co_await b->receive(asio::buffer(buf), h);
      if (ec) co_return ec;
      session_.touch();
      asio::const_buffer data(buf.data(), len);
      log_payload(session_, "out", data);
      if (held_back) {
        // At once where the kernel takes it all (no operation, no
        // suspension: the common case), else the rest awaited.
        error_code wec;
        std::size_t sent = detail::send_now(a_, data, h, wec);
        if (!wec && sent < data.size()) {
          busy(+1);
          auto [rest_ec, rest] = co_await detail::send_on(a_, data + sent, h);
          busy(-1);
          wec = rest_ec;
          sent += rest;
        }
        if (wec) {
          co_await a_ended(wec);
          co_return asio::error::operation_aborted;
        }
        to_a_.stats.add(sent);
        session_.count(0, sent);
      } else {
        pass(to_a_, a_, data, h, false);
      }
      if (stop_if_draining()) co_return asio::error::operation_aborted;
      if (n % 64 == 0) co_await asio::post(ex_, asio::use_awaitable);
    }
  }

  // A stream's bytes to B, whole, waiting while B is away; false once the
  // bridge is stopping.
  asio::awaitable<bool> send_to_b_held(asio::const_buffer data, const message_header& h) {
    while (data.size() > 0) {
      auto b = b_;
      if (!b) {
        if (stopping_) co_return false;
        co_await wait_for_wake();
        continue;
      }
      error_code ec;
      std::size_t done = detail::send_now(*b, data, h, ec);
      if (!ec && done < data.size()) {
        busy(+1);
        std::tie(ec, std::ignore) = co_await b->send(data + done, h);
        busy(-1);
        if (!ec) done = data.size();
      }
      if (done > 0) {
        to_b_.stats.add(done);
        session_.count(done, 0);
      }
      data += done;
      if (ec) {
        // B's receive sees its end too; the rest waits for the next B.
        b->close();
        if (stopping_) co_return false;
        co_await wait_for_wake();
      }
    }
    co_return true;
  }

  // A bus's message to the destination at once, or into the bounded queue
  // when the destination is still busy with earlier ones.
  template <class Dest>
  void pass(detail::bridge_way& way, Dest& dest, asio::const_buffer data, const message_header& h, bool to_b) {
    if (!way.sending && way.queue.empty()) {
      error_code ec;
      std::size_t done = detail::send_now(dest, data, h, ec);
      if (ec) {
        way.drops.dropped(session_, to_b ? cfg_->target : session_.peer(), ec.message(), way.stats);
        return;
      }
      if (done == data.size()) {
        way.stats.add(done);
        session_.count(to_b ? done : 0, to_b ? 0 : done);
        return;
      }
      auto bytes = static_cast<const char*>(data.data());
      way.queue.push_back(message{h, std::string(bytes + done, bytes + data.size())});
      way.stats.bytes += done;  // the message is counted once its rest is sent
      start_sender(way, to_b);
      return;
    }
    if (way.queue.size() >= cfg_->queue_limit) {
      way.drops.dropped(session_, to_b ? cfg_->target : session_.peer(), "its queue is full (a slow reader)",
                        way.stats);
      return;
    }
    auto bytes = static_cast<const char*>(data.data());
    way.queue.push_back(message{h, std::string(bytes, bytes + data.size())});
  }

  void start_sender(detail::bridge_way& way, bool to_b) {
    way.sending = true;
    busy(+1);
    auto self = this->shared_from_this();
    asio::co_spawn(ex_, drain_queue(way, to_b), [self, &way](std::exception_ptr e) {
      way.sending = false;
      self->busy(-1);
      self->wake();
      if (e) self->crashed(e);
      self->stop_if_draining();
    });
  }

  // Sends what waits in the queue, in order.
  asio::awaitable<void> drain_queue(detail::bridge_way& way, bool to_b) {
    auto b = b_;
    while (!way.queue.empty() && !stopping_) {
      message& m = way.queue.front();
      error_code ec;
      std::size_t sent = 0;
      if (to_b) {
        if (!b || b != b_) break;
        std::tie(ec, sent) = co_await b->send(asio::buffer(m.bytes), m.header);
      } else {
        std::tie(ec, sent) = co_await detail::send_on(a_, asio::buffer(m.bytes), m.header);
      }
      if (ec) {
        if (!to_b) co_await a_ended(ec);
        break;
      }
      way.stats.add(sent);
      session_.count(to_b ? sent : 0, to_b ? 0 : sent);
      way.queue.pop_front();
    }
    // What could not be sent (the destination went away) is dropped, counted.
    for (; !way.queue.empty(); way.queue.pop_front())
      way.drops.dropped(session_, to_b ? cfg_->target : session_.peer(), "it went away", way.stats);
  }

  // A's end. A clean one (eof) is passed on: B's write side is shut down
  // where it has half-close and B's last replies still come back; where it
  // has not, B gets `linger` for them. Anything else ends the bridge.
  asio::awaitable<void> a_ended(error_code why) {
    if (a_eof_ || a_ended_) co_return;
    a_why_ = why;
    if (why != asio::error::eof || stopping_) {
      a_ended_ = true;
      stop();
      co_return;
    }
    a_eof_ = true;
    while (to_b_.sending) co_await wait_for_wake();
    auto b = b_;
    if (!b) {
      a_ended_ = true;
      wake();
      retry_.cancel();
      co_return;
    }
    if (b->shutdown_send()) co_return;
    linger_.expires_after(cfg_->linger);
    linger_.async_wait([self = this->shared_from_this(), b](error_code ec) {
      if (!ec) b->close();
    });
  }

  // Closes both sides: every pending operation ends with operation_aborted.
  void stop() {
    if (stopping_) return;
    stopping_ = true;
    a_.close();
    if (b_) b_->close();
    retry_.cancel();
    linger_.cancel();
    stopped_.cancel();
    wake();
  }

  // Drain on shutdown: once nothing is being written, stop.
  bool stop_if_draining() {
    if (!session_.draining() || busy_ > 0) return stopping_;
    stop();
    return true;
  }

  void give_up(const std::string& why) {
    spdlog::error("{}: {}; --once: giving up", session_.endpoint(), why);
    if (cfg_->give_up) cfg_->give_up(why);
    stop();
  }

  void finish() {
    session_.close_link = nullptr;
    log_bridge_end(session_, cfg_->target, to_b_.stats, to_a_.stats);
    if (auto d = std::exchange(done_, nullptr)) d(a_why_ ? a_why_ : asio::error::operation_aborted);
  }

  void crashed(std::exception_ptr e) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      spdlog::error("{}: bridge of {} failed: {}", session_.endpoint(), session_.peer(), x.what());
    }
    stop();
  }

  void busy(int d) {
    busy_ += d;
    session_.set_busy(busy_ > 0);
  }
  void wake() { wake_.cancel(); }
  // Every waiter rechecks what it waits for: a wake-up is only a hint. (The
  // timer never expires; resetting its expiry would cancel the other waiters.)
  asio::awaitable<void> wait_for_wake() {
    co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
  }

  std::chrono::milliseconds retry_delay(unsigned attempt) const {
    auto d = std::chrono::milliseconds(250) * (1u << std::min(attempt, 8u));
    return std::min<std::chrono::milliseconds>(d, cfg_->retry_max);
  }

  // Side A reads for B, side B for A: a stream's reads fit the other side.
  std::size_t read_size(const L& a) const {
    return detail::is_stream_link(a) ? detail::stream_read_size(cfg_->b_max_message) : a.receive_size();
  }
  std::size_t read_size(const any_link& b) const {
    return b.is_stream() ? detail::stream_read_size(cfg_->a_max_message) : b.receive_size();
  }

  L a_;
  session& session_;
  std::shared_ptr<const bridge_config> cfg_;
  done_fn done_;
  asio::any_io_executor ex_;
  std::shared_ptr<any_link> b_;  // null while B is not connected
  asio::steady_timer wake_;      // cancelled when B comes or goes, a sender ends, or the bridge stops
  asio::steady_timer stopped_;   // cancelled once, when the bridge stops
  asio::steady_timer retry_;
  asio::steady_timer linger_;
  detail::bridge_way to_b_, to_a_;
  int busy_ = 0;
  bool stopping_ = false;
  bool a_running_ = false;
  bool a_started_ = false;
  bool a_eof_ = false;    // A ended cleanly; B's last replies may still come
  bool a_ended_ = false;  // A is gone: nothing more to bridge
  error_code a_why_;
};

// Bridges `a` to a B opened through `cfg` until either ends for good, an
// error occurs, or the session drains; then calls done(why).
template <link L, class Done>
void start_bridge(L a, session& s, std::shared_ptr<const bridge_config> cfg, Done done) {
  bridged_link<L>::start(std::move(a), s, std::move(cfg), std::move(done));
}

}  // namespace anysock
