// anysock socketcand BUS...: the named CAN buses served to socketcand clients
// (python-can's `socketcand` interface, SavvyCAN, Kayak) over TCP.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fmt/format.h>
#include <optional>
#include <spdlog/spdlog.h>
#include <utility>

#include "anysock/can/socketcand_server.hpp"
#include "commands.hpp"

namespace anysock::cli {

int socketcand(const socketcand_args& a) {
  namespace sc = can::socketcand;
  sc::server_config config{a.buses, a.max_links, a.queue, a.fd, a.remote, a.errors, std::nullopt};
  if (a.beacon) {
    auto to = sc::parse_beacon_to(a.beacon_to);
    if (!to) return fail(to.err());
    config.beacon = sc::beacon_config{*to, std::chrono::milliseconds(std::lround(a.beacon_every_s * 1000))};
  }
  // Every bus is checked before anything listens: a typo is one line and exit 2.
  if (auto ok = sc::check_buses(a.buses); !ok) return fail(ok.err());
  asio::io_context io(1);
  sc::server srv(io, std::move(config));
  auto bound = srv.listen(a.listen);
  if (!bound) return fail(bound.err());
  const std::string buses = fmt::format("{}", fmt::join(a.buses, ", "));
  if (!srv.loopback_only())
    spdlog::warn("socketcand://{} is reachable from the network: anyone who can connect can read and write {} "
                 "(socketcand has no authentication); put TLS (stunnel) or an SSH tunnel in front, or listen on "
                 "127.0.0.1",
                 *bound, buses);
  srv.start();
  spdlog::info("socketcand server listening on socketcand://{} for {}", *bound, buses);
  // The bound address goes to stdout (port 0 resolved), so scripts and tests can read it.
  fmt::print("listening socketcand://{}\n", *bound);
  std::fflush(stdout);

  asio::signal_set signals(io, SIGINT, SIGTERM);
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto [ec, sig] = co_await signals.async_wait(asio::as_tuple(asio::use_awaitable));
        if (ec) co_return;
        spdlog::info("{} received: closing every client", sig == SIGINT ? "SIGINT" : "SIGTERM");
        // Once the clients are gone nothing keeps io.run() going.
        srv.stop();
      },
      asio::detached);
  io.run();
  spdlog::info("stopped");
  return exit_ok;
}

}  // namespace anysock::cli
