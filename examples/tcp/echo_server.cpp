// An IPv6 echo server in a few lines: the TCP transport binds, core's server
// runs core's echo on every link. Ctrl-C drains and exits.
//   echo_server [tcp://[::]:50007]
#include <boost/asio/signal_set.hpp>
#include <cstdio>

#include "anysock/server.hpp"
#include "anysock/tcp/tcp.hpp"

int main(int argc, char** argv) {
  auto uri = anysock::parse_uri(argc > 1 ? argv[1] : "tcp://[::]:50007");
  if (!uri) return std::fprintf(stderr, "%s\n", uri.err().message.c_str()), 2;

  boost::asio::io_context io;
  auto listeners = anysock::tcp::listen(*uri, io);
  if (!listeners) return std::fprintf(stderr, "%s\n", listeners.err().message.c_str()), 3;

  anysock::server server(io, {.max_links = 1000});
  for (auto& l : listeners.value()) {
    std::printf("echoing on %s\n", l->name().c_str());
    server.add(std::move(l));
  }
  server.start();
  std::fflush(stdout);  // a pipe reader sees the port now, not at exit

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](auto, int) { server.shutdown(); });
  io.run();
}
