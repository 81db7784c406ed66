// anysock send: the seed's client for every transport. Sends messages,
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
  const auto& messages = a.messages.empty() ? seed_messages() : a.messages;

  asio::io_context io;
  std::optional<error> failure;
  auto print = [&](std::size_t, std::string_view echo) {
    if (a.quiet) return;
    fmt::print("{}\n", echo);
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
          auto r = co_await check_echo(link, messages, timeout, print);
          if (!r) failure = r.err();
        } else {
          // One line at a time, so a person typing sees each echo at once.
          std::vector<std::string> one(1);
          while (std::getline(std::cin, one[0])) {
            auto r = co_await check_echo(link, one, timeout, print);
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
  if (failure) return fail(*failure);
  return exit_ok;
}

}  // namespace anysock::cli
