// A Bluetooth serial (RFCOMM) echo server: the TCP example with another
// transport; core's server and echo are the same. With bluetoothd in compat
// mode (-C) the channel is published over SDP, so `sdptool browse` and
// phones find it. Ctrl-C drains and exits.
//   rfcomm_echo_server [rfcomm://hci0:1]
#include <boost/asio/signal_set.hpp>
#include <cstdio>

#include "anysock/bluetooth/rfcomm.hpp"
#include "anysock/server.hpp"

int main(int argc, char** argv) {
  auto uri = anysock::parse_uri(argc > 1 ? argv[1] : "rfcomm://hci0:1");
  if (!uri) return std::fprintf(stderr, "%s\n", uri.err().message.c_str()), 2;

  boost::asio::io_context io;
  auto listeners = anysock::rfcomm::listen(*uri, io);  // adapter, channel, SDP record
  if (!listeners) return std::fprintf(stderr, "%s\n", listeners.err().message.c_str()), 3;

  anysock::server server(io, {.max_links = 7});  // a BR/EDR piconet has at most 7 peers
  for (auto& l : listeners.value()) {
    std::printf("echoing on %s\n", l->name().c_str());
    server.add(std::move(l));
  }
  server.start();
  std::fflush(stdout);

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](auto, int) { server.shutdown(); });
  io.run();
}
