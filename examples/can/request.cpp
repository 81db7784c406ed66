// Sends CAN frames written as cansend writes them and checks each reply:
// the client side of the responder example, through the same registry.
//   can_request can://vcan0?rx=123&tx=456 123#DEADBEEF [123#11.22 ...]
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <cstdio>

#include "anysock/can/can.hpp"
#include "anysock/client.hpp"

int main(int argc, char** argv) {
  if (argc < 3) return std::fprintf(stderr, "usage: %s can://IF?rx=ID&tx=ID FRAME...\n", argv[0]), 2;
  anysock::registry transports;
  anysock::can::register_transports(transports);
  auto uri = anysock::parse_uri(argv[1]);
  if (!uri) return std::fprintf(stderr, "%s\n", uri.err().message.c_str()), 2;
  auto can = transports.resolve(*uri);
  if (!can) return std::fprintf(stderr, "%s\n", can.err().message.c_str()), 2;
  const anysock::transport& t = **can;

  std::vector<anysock::message> frames;
  for (int i = 2; i < argc; ++i) {
    auto f = t.parse_message(*uri, argv[i]);  // "123#DEADBEEF" -> ID, flags, payload
    if (!f) return std::fprintf(stderr, "%s\n", f.err().message.c_str()), 2;
    frames.push_back(std::move(f).value());
  }

  boost::asio::io_context io;
  int status = 0;
  boost::asio::co_spawn(io, [&]() -> boost::asio::awaitable<void> {
    auto link = co_await anysock::connect(transports, argv[1], std::chrono::seconds(5));
    if (!link) {
      std::fprintf(stderr, "%s\n", link.err().message.c_str());
      status = 3;
      co_return;
    }
    auto done = co_await anysock::check_echo(**link, frames, std::chrono::seconds(5),
                                             [&](std::size_t, const anysock::message& reply) {
                                               std::printf("%s\n", t.format_message(*uri, reply).c_str());
                                             });
    if (!done) {
      std::fprintf(stderr, "%s\n", done.err().message.c_str());
      status = done.err().code == anysock::errc::timed_out ? 4 : 1;
    }
  }, boost::asio::detached);
  io.run();
  return status;
}
