// anysock send: the echo client for every transport. Sends messages,
// prints each echo, and fails with one line unless every byte came back.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <fmt/format.h>
#include <iostream>
#include <optional>

#include "anysock/client.hpp"
#include "commands.hpp"

namespace anysock::cli {

int send(const registry& reg, const send_args& a) {
  const auto timeout = std::chrono::milliseconds(static_cast<long long>(a.timeout_s * 1000.0));
  const bool from_stdin = a.messages.size() == 1 && a.messages[0] == "-";
  auto u = parse_uri(a.uri);
  if (!u) return fail(u.err());
  auto t = reg.resolve(*u);
  if (!t) return fail(t.err());
  const transport& tr = **t;
  if (tr.validate)
    if (auto ok = tr.validate(*u); !ok) return fail(ok.err());

  // Messages as the transport reads them (a CAN frame is `123#DEADBEEF`).
  auto to_message = [&](const std::string& text) -> result<message> {
    if (tr.parse_message) return tr.parse_message(*u, text);
    return message{{}, text};
  };
  std::vector<message> messages;
  if (a.messages.empty()) {
    messages = tr.default_messages ? tr.default_messages(*u) : as_messages(greeting_messages());
  } else if (!from_stdin) {
    for (const auto& text : a.messages) {
      auto m = to_message(text);
      if (!m) return fail(m.err());
      messages.push_back(std::move(m).value());
    }
  }

  asio::io_context io;
  std::optional<error> failure;
  auto print = [&](std::size_t, const message& echo) {
    if (a.quiet) return;
    fmt::print("{}\n", tr.format_message ? tr.format_message(*u, echo) : echo.bytes);
    std::fflush(stdout);
  };
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto l = co_await connect(reg, a.uri, timeout);
        if (!l) {
          failure = l.err();
          co_return;
        }
        auto& link = *l.value();
        if (!from_stdin) {
          auto r = co_await check_echo(link, messages, timeout, print, a.window);
          if (!r) failure = r.err();
        } else {
          // One line at a time, so a person typing sees each echo at once.
          std::vector<message> one(1);
          std::string line;
          while (std::getline(std::cin, line)) {
            auto m = to_message(line);
            if (!m) {
              failure = m.err();
              break;
            }
            one[0] = std::move(m).value();
            auto r = co_await check_echo(link, one, timeout, print, a.window);
            if (!r) {
              failure = r.err();
              break;
            }
          }
        }
        link.close();
      },
      [&](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  io.run();
  if (failure) return fail(with_timeout_hint(*failure, timeout));
  return exit_ok;
}

}  // namespace anysock::cli
