// A link that plays a script instead of a socket, so the services (echo,
// bridge) can be tested against every turn a socket can take without a
// kernel: messages that arrive later or are already queued, a stream read
// split across receives, errors at any point, sends the kernel takes in
// part, not yet, or not at all, and a close while a send waits.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <cstring>
#include <deque>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "anysock/link.hpp"

namespace anysock::test {

// What the link plays and what it saw; shared, so a test still reads it
// after the link has moved into a service.
struct link_script {
  struct arrival {
    std::string bytes;
    error_code ec;        // instead of bytes: the receive fails with it
    message_header header{};
    bool queued = false;  // already in the socket: try_receive takes it, a receive completes inside the call
  };
  // Bytes that arrive once a receive waits for them, or that are already queued.
  static arrival later(std::string bytes, message_header h = {}) { return {std::move(bytes), {}, h, false}; }
  static arrival queued(std::string bytes, message_header h = {}) { return {std::move(bytes), {}, h, true}; }
  static arrival failure(error_code ec, bool queued = false) { return {{}, ec, {}, queued}; }
  std::deque<arrival> arrivals;  // once empty, a receive waits for feed() or close()
  // A message arrives now: a receive waiting for one gets it.
  void feed(arrival a) {
    arrivals.push_back(std::move(a));
    if (wake) wake();
  }
  std::function<void()> wake;  // set by the link while a receive waits

  // Sends: how much one try_send takes (a frame family: all or nothing),
  // whether it says would_block, an error every send meets, and whether an
  // async_send waits until release_send() or close().
  std::size_t try_send_takes = std::numeric_limits<std::size_t>::max();
  bool try_send_blocks = false;
  error_code send_error;
  bool hold_async_send = false;

  std::string sent;                     // every byte sent, in order
  std::vector<std::string> sent_messages;  // one per successful send call
  std::vector<message_header> sent_headers;
  int try_sends = 0, async_sends = 0;
  bool closed = false;
};

template <bool Stream>
class scripted_link {
 public:
  using executor_type = asio::any_io_executor;
  static constexpr bool is_stream = Stream;
  static constexpr bool reads_ahead = true;  // a queued arrival completes a receive inside the call

  scripted_link(asio::any_io_executor ex, std::shared_ptr<link_script> s) : state_(std::make_shared<state>()) {
    state_->ex = std::move(ex);
    state_->script = std::move(s);
  }

  executor_type get_executor() { return state_->ex; }
  std::size_t receive_size() const { return Stream ? 4096 : 64; }
  std::string peer() const { return "script"; }

  template <class Token>
  auto async_receive(asio::mutable_buffer b, message_header& h, Token&& token) {
    return asio::async_initiate<Token, void(error_code, std::size_t)>(
        [st = state_, b, &h](auto handler) {
          auto& arrivals = st->script->arrivals;
          if (st->script->closed) {
            return asio::post(st->ex, [h2 = std::move(handler)]() mutable {
              std::move(h2)(asio::error::operation_aborted, std::size_t{0});
            });
          }
          if (!arrivals.empty() && arrivals.front().queued) {
            error_code ec;
            auto n = take(*st, b, h, ec);
            return std::move(handler)(ec, n);
          }
          st->receive = receive_wait{std::move(handler), b, &h};
          st->script->wake = [w = std::weak_ptr<state>(st)] {
            if (auto st2 = w.lock()) asio::post(st2->ex, [st2] { complete_receive(*st2); });
          };
          if (!arrivals.empty()) asio::post(st->ex, [st] { complete_receive(*st); });
        },
        token);
  }

  template <class Token>
  auto async_send(asio::const_buffer b, const message_header& h, Token&& token) {
    return asio::async_initiate<Token, void(error_code, std::size_t)>(
        [st = state_, b, h](auto handler) {
          auto& script = *st->script;
          ++script.async_sends;
          std::string bytes(static_cast<const char*>(b.data()), b.size());
          if (script.hold_async_send) {
            st->send = send_wait{std::move(handler), std::move(bytes), h};
            return;
          }
          asio::post(st->ex, [st, bytes = std::move(bytes), h, h2 = std::move(handler)]() mutable {
            auto& s = *st->script;
            if (s.send_error) return std::move(h2)(s.send_error, std::size_t{0});
            record(s, bytes, h);
            std::move(h2)(error_code{}, bytes.size());
          });
        },
        token);
  }

  std::size_t try_receive(asio::mutable_buffer b, message_header& h, error_code& ec) {
    ec = {};
    auto& arrivals = state_->script->arrivals;
    if (arrivals.empty() || !arrivals.front().queued) {
      ec = asio::error::would_block;
      return 0;
    }
    return take(*state_, b, h, ec);
  }

  std::size_t try_send(asio::const_buffer b, const message_header& h, error_code& ec) {
    auto& s = *state_->script;
    ++s.try_sends;
    ec = {};
    if (s.send_error) {
      ec = s.send_error;
      return 0;
    }
    std::size_t n = std::min(b.size(), s.try_send_takes);
    if (s.try_send_blocks || n == 0 || (!Stream && n < b.size())) {
      ec = asio::error::would_block;
      return 0;
    }
    record(s, std::string(static_cast<const char*>(b.data()), n), h);
    return n;
  }

  void close() {
    auto st = state_;
    st->script->closed = true;
    if (st->receive)
      asio::post(st->ex, [st] {
        if (auto r = std::exchange(st->receive, std::nullopt))
          std::move(r->handler)(asio::error::operation_aborted, std::size_t{0});
      });
    if (st->send)
      asio::post(st->ex, [st] {
        if (auto w = std::exchange(st->send, std::nullopt))
          std::move(w->handler)(asio::error::operation_aborted, std::size_t{0});
      });
  }

  // The test's side: the held send completes.
  void release_send() {
    auto st = state_;
    if (auto w = std::exchange(st->send, std::nullopt)) {
      record(*st->script, w->bytes, w->header);
      asio::post(st->ex, [n = w->bytes.size(), h = std::move(w->handler)]() mutable {
        std::move(h)(error_code{}, n);
      });
    }
  }

 private:
  struct receive_wait {
    asio::any_completion_handler<void(error_code, std::size_t)> handler;
    asio::mutable_buffer buffer;
    message_header* header;
  };
  struct send_wait {
    asio::any_completion_handler<void(error_code, std::size_t)> handler;
    std::string bytes;
    message_header header;
  };
  struct state {
    asio::any_io_executor ex;
    std::shared_ptr<link_script> script;
    std::optional<receive_wait> receive;
    std::optional<send_wait> send;
  };

  // The next arrival into b. A frame is whole (cut to the buffer, as a
  // datagram would be). A stream takes what fits, as one read of a socket
  // does: the rest of that arrival and the queued ones after it, up to an
  // error, which the next call returns.
  static std::size_t take(state& st, asio::mutable_buffer b, message_header& h, error_code& ec) {
    auto& arrivals = st.script->arrivals;
    if (arrivals.front().ec) {
      ec = arrivals.front().ec;
      arrivals.pop_front();
      return 0;
    }
    std::size_t n = 0;
    auto* out = static_cast<char*>(b.data());
    do {
      auto& a = arrivals.front();
      const std::size_t k = std::min(b.size() - n, a.bytes.size());
      std::memcpy(out + n, a.bytes.data(), k);
      n += k;
      h = a.header;
      if (Stream && k < a.bytes.size()) {
        a.bytes.erase(0, k);
        a.queued = true;
        break;
      }
      arrivals.pop_front();
    } while (Stream && n < b.size() && !arrivals.empty() && arrivals.front().queued && !arrivals.front().ec);
    return n;
  }
  static void complete_receive(state& st) {
    if (!st.receive || st.script->arrivals.empty()) return;
    auto r = std::move(*st.receive);
    st.receive.reset();
    error_code ec;
    auto n = take(st, r.buffer, *r.header, ec);
    std::move(r.handler)(ec, n);
  }
  static void record(link_script& s, const std::string& bytes, const message_header& h) {
    s.sent += bytes;
    s.sent_messages.push_back(bytes);
    s.sent_headers.push_back(h);
  }

  std::shared_ptr<state> state_;
};

static_assert(link<scripted_link<true>>);
static_assert(link<scripted_link<false>>);

// An acceptor that yields a stream link for each script pushed to it (a
// connection family), or, with OneLink, stands for a bus: the server treats
// its one link as the endpoint itself.
template <bool OneLink = false>
class scripted_acceptor {
 public:
  using link_type = scripted_link<true>;
  static constexpr bool yields_one_link = OneLink;

  scripted_acceptor(asio::any_io_executor ex, std::string name) : state_(std::make_shared<state>()) {
    state_->ex = std::move(ex);
    state_->name = std::move(name);
  }
  std::string name() const { return state_->name; }
  asio::any_io_executor get_executor() { return state_->ex; }

  // The next peer: its link plays `script`.
  void push(std::shared_ptr<link_script> script) {
    auto st = state_;
    st->waiting_links.push_back(std::move(script));
    asio::post(st->ex, [st] { hand_over(*st); });
  }

  template <class Token>
  auto async_accept(Token&& token) {
    return asio::async_initiate<Token, void(error_code, link_type)>(
        [st = state_](auto handler) {
          st->accept.emplace(std::move(handler));
          asio::post(st->ex, [st] { hand_over(*st); });
        },
        token);
  }

  void close() {
    auto st = state_;
    st->closed = true;
    asio::post(st->ex, [st] { hand_over(*st); });
  }

 private:
  struct state {
    asio::any_io_executor ex;
    std::string name;
    std::deque<std::shared_ptr<link_script>> waiting_links;
    std::optional<asio::any_completion_handler<void(error_code, link_type)>> accept;
    bool closed = false;
  };
  static void hand_over(state& st) {
    if (!st.accept) return;
    if (st.closed) {
      auto h = std::move(*st.accept);
      st.accept.reset();
      return std::move(h)(asio::error::operation_aborted, link_type(st.ex, std::make_shared<link_script>()));
    }
    if (st.waiting_links.empty()) return;
    auto h = std::move(*st.accept);
    st.accept.reset();
    auto script = std::move(st.waiting_links.front());
    st.waiting_links.pop_front();
    std::move(h)(error_code{}, link_type(st.ex, std::move(script)));
  }
  std::shared_ptr<state> state_;
};

}  // namespace anysock::test
