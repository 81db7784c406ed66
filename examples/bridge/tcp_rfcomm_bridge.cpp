// ser2net's job in a few lines: every TCP client gets the Bluetooth serial
// device (RFCOMM), bytes both ways, through core's server and bridge — the
// echo examples' server with another service. Without a channel the
// device's serial port is found by SDP. If the device goes away the bridge
// reconnects while the TCP client stays; Ctrl-C drains and exits.
//   tcp_rfcomm_bridge tcp://[::]:2000 rfcomm://00:1A:7D:DA:71:13[:1]
#include <boost/asio/signal_set.hpp>
#include <cstdio>
#include <memory>

#include "anysock/bluetooth/bluetooth.hpp"
#include "anysock/client.hpp"
#include "anysock/server.hpp"
#include "anysock/tcp/tcp.hpp"

int main(int argc, char** argv) {
  if (argc != 3) return std::fprintf(stderr, "usage: %s tcp://[::]:2000 rfcomm://ADDR[:CH]\n", argv[0]), 2;
  auto listen_uri = anysock::parse_uri(argv[1]);
  if (!listen_uri) return std::fprintf(stderr, "%s\n", listen_uri.err().message.c_str()), 2;
  anysock::registry transports;
  anysock::bluetooth::register_transports(transports);

  boost::asio::io_context io;
  auto listeners = anysock::tcp::listen(*listen_uri, io);
  if (!listeners) return std::fprintf(stderr, "%s\n", listeners.err().message.c_str()), 3;

  auto device = std::make_shared<anysock::bridge_config>();
  device->target = argv[2];
  device->connect = [&transports, uri = device->target] {
    return anysock::connect(transports, uri, std::chrono::seconds(10), anysock::endpoint_use::bridge);
  };
  anysock::server server(io, {}, anysock::bridge_service{device});
  for (auto& l : listeners.value()) {
    std::printf("bridging %s to %s\n", l->name().c_str(), argv[2]);
    server.add(std::move(l));
  }
  server.start();
  std::fflush(stdout);

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](auto, int) { server.shutdown(); });
  io.run();
}
