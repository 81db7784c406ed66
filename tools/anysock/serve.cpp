// anysock serve: the echo service on every URI given, on one io_context.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <csignal>
#include <cstdio>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <thread>

#include "anysock/server.hpp"
#include "commands.hpp"

namespace anysock::cli {
namespace {

std::chrono::milliseconds ms(double seconds) {
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000.0));
}

}  // namespace

int serve(const registry& reg, const serve_args& a) {
  asio::io_context io(static_cast<int>(a.threads));
  server srv(io, server_options{a.max_links, ms(a.idle_timeout_s), ms(a.drain_timeout_s)});

  // Bind everything before serving anything: a bad URI or a busy port stops
  // the program with one line instead of leaving it half up.
  for (const auto& text : a.uris) {
    auto u = parse_uri(text);
    if (!u) return fail(u.err());
    auto t = reg.resolve(*u);
    if (!t) return fail(t.err());
    auto ls = (*t)->listen(*u, io);
    if (!ls) return fail(ls.err());
    for (auto& l : ls.value()) srv.add(std::move(l));
  }
  srv.start();
  // The bound names go to stdout (port 0 resolved), so scripts can read them.
  for (const auto& l : srv.listeners()) {
    spdlog::info("echo service listening on {}", l->name());
    fmt::print("listening {}\n", l->name());
  }
  std::fflush(stdout);

  auto signal_strand = asio::make_strand(io);
  asio::signal_set signals(signal_strand, SIGINT, SIGTERM);
  asio::co_spawn(
      signal_strand,
      [&]() -> asio::awaitable<void> {
        for (int seen = 0;; ++seen) {
          auto [ec, sig] = co_await signals.async_wait(asio::as_tuple(asio::use_awaitable));
          if (ec) co_return;
          if (seen == 0) {
            spdlog::info("{} received: finishing echoes in flight (again to stop at once)",
                         sig == SIGINT ? "SIGINT" : "SIGTERM");
            srv.shutdown([&] { asio::post(signal_strand, [&] { signals.cancel(); }); });
          } else {
            spdlog::warn("second signal: closing every link now");
            srv.abort();
          }
        }
      },
      asio::detached);

  std::vector<std::thread> workers;
  for (unsigned i = 1; i < a.threads; ++i) workers.emplace_back([&] { io.run(); });
  io.run();
  for (auto& w : workers) w.join();
  spdlog::info("stopped");
  return exit_ok;
}

}  // namespace anysock::cli
