// anysock serve: the echo service on every URI given.
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
#include <algorithm>
#include <memory>
#include <thread>
#include <vector>

#include "anysock/busy_poll.hpp"
#include "anysock/server.hpp"
#include "commands.hpp"

namespace anysock::cli {
namespace {

std::chrono::milliseconds ms(double seconds) {
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000.0));
}

}  // namespace

// `uri` with one more query option.
std::string with_option(const std::string& uri, std::string_view option) {
  return uri + (uri.find('?') == std::string::npos ? "?" : "&") + std::string(option);
}

int serve(const registry& reg, const serve_args& a) {
  return run_server(reg, a, "echo service", endpoint_use::echo, echo_service{});
}

int run_server(const registry& reg, const serve_args& a, std::string_view what, endpoint_use use,
               link_service service, const std::function<void(server&)>& on_server) {
  // One io_context per thread, each run by one thread: a link lives on one
  // of them and never needs a strand. Transports that can bind an endpoint
  // once per thread (TCP: SO_REUSEPORT) get a listener on each, and the
  // kernel spreads new links over them.
  std::vector<std::unique_ptr<asio::io_context>> ios;
  for (unsigned i = 0; i < a.threads; ++i) ios.push_back(std::make_unique<asio::io_context>(1));
  asio::io_context& io = *ios[0];
  server srv(io, server_options{a.max_links, ms(a.idle_timeout_s), ms(a.drain_timeout_s)}, std::move(service));
  if (on_server) on_server(srv);

  // Bind everything before serving anything: a bad URI or a busy port stops
  // the program with one line instead of leaving it half up.
  for (const auto& text : a.uris) {
    auto u = parse_uri(text);
    if (!u) return fail(u.err());
    auto t = reg.resolve(*u);
    if (!t) return fail(t.err());
    const bool per_thread = a.threads > 1 && (*t)->listens_per_thread;
    if (per_thread) u = parse_uri(with_option(text, "reuseport=1"));
    if (!u) return fail(u.err());
    auto ls = listen(**t, *u, io, use);
    if (!ls) return fail(ls.err());
    std::vector<std::string> bound;
    for (auto& l : ls.value()) {
      bound.push_back(l->name());
      srv.add(std::move(l));
    }
    // The same endpoints (port 0 now resolved) once more on every other thread.
    for (unsigned k = 1; per_thread && k < a.threads; ++k)
      for (const auto& name : bound) {
        auto again = parse_uri(with_option(name, "reuseport=1"));
        if (!again) return fail(again.err());
        auto more = listen(**t, *again, *ios[k], use);
        if (!more) return fail(more.err());
        for (auto& l : more.value()) srv.add(std::move(l));
      }
  }
  srv.start();
  // The bound names go to stdout (port 0 resolved), so scripts can read them;
  // an endpoint served by several threads is printed once.
  std::vector<std::string> printed;
  for (const auto& l : srv.listeners()) {
    auto name = l->name();
    if (std::find(printed.begin(), printed.end(), name) != printed.end()) continue;
    printed.push_back(name);
    spdlog::info("{} listening on {}{}", what, name,
                 a.threads > 1 ? fmt::format(" ({} threads)", a.threads) : std::string());
    fmt::print("listening {}\n", name);
  }
  std::fflush(stdout);

  auto signal_strand = asio::make_strand(io);
  asio::signal_set signals(signal_strand, SIGINT, SIGTERM);
  // However the server stops (a signal, or an endpoint it can no longer
  // serve), the signal wait is the last work keeping io.run() going.
  srv.when_stopped([&] { asio::post(signal_strand, [&] { signals.cancel(); }); });
  asio::co_spawn(
      signal_strand,
      [&]() -> asio::awaitable<void> {
        for (int seen = 0;; ++seen) {
          auto [ec, sig] = co_await signals.async_wait(asio::as_tuple(asio::use_awaitable));
          if (ec) co_return;
          if (seen == 0) {
            spdlog::info("{} received: finishing echoes in flight (again to stop at once)",
                         sig == SIGINT ? "SIGINT" : "SIGTERM");
            srv.shutdown();
          } else {
            spdlog::warn("second signal: closing every link now");
            srv.abort();
          }
        }
      },
      asio::detached);

  const std::chrono::microseconds spin(a.busy_poll_us);
  std::vector<std::thread> workers;
  for (unsigned i = 1; i < a.threads; ++i) workers.emplace_back([&, i] { run_busy_polling(*ios[i], spin); });
  run_busy_polling(io, spin);
  for (auto& w : workers) w.join();
  spdlog::info("stopped");
  if (auto why = srv.failure(); !why.empty()) return fail(error{make_error_code(std::errc::io_error), why});
  return exit_ok;
}

}  // namespace anysock::cli
