// A CAN echo responder in a few lines: the same server and echo as the TCP
// example, over SocketCAN. A request frame is answered with its payload on
// the reply ID; the transport comes from a registry, as `anysock` finds it.
//   can_responder [can://vcan0?rx=123&tx=456]
#include <boost/asio/signal_set.hpp>
#include <cstdio>

#include "anysock/can/can.hpp"
#include "anysock/server.hpp"

int main(int argc, char** argv) {
  auto uri = anysock::parse_uri(argc > 1 ? argv[1] : "can://vcan0?rx=123&tx=456");
  if (!uri) return std::fprintf(stderr, "%s\n", uri.err().message.c_str()), 2;
  anysock::registry transports;
  anysock::can::register_transports(transports);
  auto can = transports.resolve(*uri);
  if (!can) return std::fprintf(stderr, "%s\n", can.err().message.c_str()), 2;

  boost::asio::io_context io;
  auto listeners = (*can)->listen(*uri, io);  // the bus, its filters, the storm checks
  if (!listeners) return std::fprintf(stderr, "%s\n", listeners.err().message.c_str()), 3;

  anysock::server server(io, {});
  for (auto& l : listeners.value()) {
    std::printf("answering on %s\n", l->name().c_str());
    server.add(std::move(l));
  }
  server.start();
  std::fflush(stdout);

  // Ctrl-C drains and exits; so does losing the bus (its interface removed).
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](auto ec, int) {
    if (!ec) server.shutdown();
  });
  server.when_stopped([&] { signals.cancel(); });
  io.run();
  if (auto why = server.failure(); !why.empty()) return std::fprintf(stderr, "%s\n", why.c_str()), 3;
}
