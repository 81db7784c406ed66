#include "anysock/client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <fmt/format.h>
#include <cstdint>
#include <optional>

#include "anysock/log.hpp"
#include "anysock/registry.hpp"

namespace anysock {
namespace {

using clock = std::chrono::steady_clock;
using namespace asio::experimental::awaitable_operators;

struct exchange {
  any_link& link;
  const std::vector<message>& messages;
  std::chrono::milliseconds timeout;
  std::function<void(std::size_t, const message&)> on_echo;
  std::size_t window;  // streams: bytes sent and not yet echoed; 0: no bound
  asio::steady_timer echoed;  // never expires: cancelled to wake a writer waiting for echoes
  clock::time_point last_progress = clock::now();
  std::optional<error> failure;
  echo_totals totals;
  std::size_t bytes_sent = 0, bytes_echoed = 0;

  void fail(error e) {
    if (!failure) failure = std::move(e);
    link.close();  // wakes the other half
    echoed.cancel();
  }

  // How much the writer may send now (streams); 0 while the window is full.
  std::size_t room() const {
    if (window == 0 || !link.is_stream()) return SIZE_MAX;
    const std::size_t in_flight = bytes_sent - bytes_echoed;
    return in_flight >= window ? 0 : window - in_flight;
  }

  asio::awaitable<void> write_all() {
    for (std::size_t i = 0; i < messages.size() && !failure; ++i) {
      const std::string& bytes = messages[i].bytes;
      std::size_t at = 0;
      do {  // a frame (or an empty message) goes whole, once
        while (room() == 0 && !failure) {
          echoed.expires_at(clock::time_point::max());
          co_await echoed.async_wait(asio::as_tuple(asio::use_awaitable));
        }
        if (failure) co_return;
        const std::size_t n = std::min(bytes.size() - at, room());
        auto [ec, sent] = co_await link.send(asio::buffer(bytes.data() + at, n), messages[i].header);
        if (ec) {
          fail({ec, fmt::format("sending message {} to {} failed: {}", i + 1, link.peer(), ec.message())});
          co_return;
        }
        at += n;
        bytes_sent += n;
      } while (at < bytes.size());
    }
  }

  asio::awaitable<void> read_all() {
    std::vector<char> buf(std::max<std::size_t>(link.receive_size(), 4096));
    std::string carry;  // stream bytes that already belong to the next message
    for (std::size_t i = 0; i < messages.size() && !failure; ++i) {
      const std::string& want = messages[i].bytes;
      std::string got = std::move(carry);
      carry.clear();
      message_header h{};
      bool received = false;
      while (got.size() < want.size() || (!link.is_stream() && !received)) {
        auto [ec, n] = co_await link.receive(asio::buffer(buf), h);
        if (ec) {
          if (failure) co_return;
          if (ec == asio::error::eof)
            fail({make_error_code(errc::peer_closed),
                  fmt::format("peer closed the connection after {} of {} bytes of message {} came back",
                              got.size(), want.size(), i + 1)});
          else
            fail({ec, fmt::format("receiving the echo of message {} failed: {}", i + 1, ec.message())});
          co_return;
        }
        last_progress = clock::now();
        received = true;
        got.append(buf.data(), n);
        bytes_echoed += n;
        echoed.cancel();  // the writer may go on
        if (!link.is_stream()) break;  // one message is one echo
      }
      if (link.is_stream() && got.size() > want.size()) {
        carry = got.substr(want.size());
        got.resize(want.size());
      }
      if (got != want) {
        std::size_t at = 0;
        while (at < got.size() && at < want.size() && got[at] == want[at]) ++at;
        std::string detail =
            at < got.size() && at < want.size()
                ? fmt::format("at byte {}: sent 0x{:02x}, got 0x{:02x}", at,
                              static_cast<unsigned char>(want[at]), static_cast<unsigned char>(got[at]))
                : fmt::format("in length: sent {} bytes, got {}", want.size(), got.size());
        fail({make_error_code(errc::echo_mismatch),
              fmt::format("echo of message {} differs {} (sent '{}', got '{}')", i + 1, detail,
                          printable(want, 64), printable(got, 64))});
        co_return;
      }
      if (!link.is_stream() && h.flags != messages[i].header.flags) {
        fail({make_error_code(errc::echo_mismatch),
              fmt::format("echo of message {} came back with other frame flags (sent 0x{:x}, got 0x{:x}: FD/BRS "
                          "not preserved)",
                          i + 1, messages[i].header.flags, h.flags)});
        co_return;
      }
      totals.messages++;
      totals.bytes += got.size();
      if (on_echo) on_echo(i, message{h, std::move(got)});
    }
  }

  asio::awaitable<void> watchdog() {
    asio::steady_timer t(co_await asio::this_coro::executor);
    for (;;) {
      t.expires_at(last_progress + timeout);
      co_await t.async_wait(asio::use_awaitable);
      if (clock::now() - last_progress >= timeout) co_return;
    }
  }
};

}  // namespace

std::vector<message> as_messages(const std::vector<std::string>& texts) {
  std::vector<message> out;
  for (const auto& t : texts) out.push_back(message{{}, t});
  return out;
}

asio::awaitable<result<echo_totals>> check_echo(any_link& link, const std::vector<message>& messages,
                                                std::chrono::milliseconds timeout,
                                                std::function<void(std::size_t, const message&)> on_echo,
                                                std::size_t window) {
  // (No co_await inside the braces: GCC 12 miscompiles one in an aggregate initializer.)
  const auto ex = co_await asio::this_coro::executor;
  exchange x{link, messages, timeout, std::move(on_echo), window, asio::steady_timer(ex), clock::now(),
             std::nullopt, {}, 0, 0};
  auto r = co_await ((x.write_all() && x.read_all()) || x.watchdog());
  if (r.index() == 1) {
    link.close();
    co_return error{make_error_code(errc::timed_out),
                    fmt::format("no echo from {} for {} ms ({} of {} messages verified); is it an echo "
                                "service? a slow link needs a longer timeout",
                                link.peer(), timeout.count(), x.totals.messages, messages.size())};
  }
  if (x.failure) co_return *x.failure;
  co_return x.totals;
}

asio::awaitable<result<echo_totals>> check_echo(any_link& link, const std::vector<std::string>& messages,
                                                std::chrono::milliseconds timeout,
                                                std::function<void(std::size_t, std::string_view)> on_echo,
                                                std::size_t window) {
  auto all = as_messages(messages);
  co_return co_await check_echo(
      link, all, timeout,
      [&](std::size_t i, const message& m) {
        if (on_echo) on_echo(i, m.bytes);
      },
      window);
}

asio::awaitable<result<std::unique_ptr<any_link>>> connect(const registry& reg, std::string_view uri_text,
                                                           std::chrono::milliseconds timeout) {
  co_return co_await connect(reg, uri_text, timeout, endpoint_use::echo);
}

asio::awaitable<result<std::unique_ptr<any_link>>> connect(const registry& reg, std::string_view uri_text,
                                                           std::chrono::milliseconds timeout, endpoint_use use) {
  auto u = parse_uri(uri_text);
  if (!u) co_return u.err();
  auto t = reg.resolve(*u);
  if (!t) co_return t.err();
  const auto& hook = use == endpoint_use::bridge && (*t)->bridge_connect ? (*t)->bridge_connect : (*t)->connect;
  asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
  auto r = co_await (hook(*u, co_await asio::this_coro::executor) ||
                     timer.async_wait(asio::use_awaitable));
  if (r.index() == 1)
    co_return error{make_error_code(errc::timed_out),
                    fmt::format("connecting to {} took more than {} ms; is the address right and the peer "
                                "reachable?",
                                u->text, timeout.count())};
  co_return std::move(std::get<0>(r));
}

}  // namespace anysock
