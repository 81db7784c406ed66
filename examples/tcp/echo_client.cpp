// A TCP echo client: send "Hello, world" and "汉语/漢語 Hànyǔ", print and
// verify each echo. Tries every address the name resolves to.
//   echo_client [tcp://localhost:50007]
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <cstdio>

#include "anysock/client.hpp"
#include "anysock/tcp/tcp.hpp"

int main(int argc, char** argv) {
  auto uri = anysock::parse_uri(argc > 1 ? argv[1] : "tcp://localhost:50007");
  if (!uri) return std::fprintf(stderr, "%s\n", uri.err().message.c_str()), 2;

  boost::asio::io_context io;
  int status = 0;
  const std::vector<std::string> greeting{"Hello, world", "汉语/漢語 Hànyǔ"};
  boost::asio::co_spawn(io, [&]() -> boost::asio::awaitable<void> {
    auto link = co_await anysock::tcp::connect(*uri, io.get_executor());
    if (!link) {
      std::fprintf(stderr, "%s\n", link.err().message.c_str());
      status = 3;
      co_return;
    }
    auto any = anysock::make_any_link(std::move(link).value());
    auto done = co_await anysock::check_echo(*any, greeting, std::chrono::seconds(5),
                                             [](std::size_t, std::string_view echo) {
                                               std::printf("Received %.*s\n", int(echo.size()), echo.data());
                                             });
    if (!done) {
      std::fprintf(stderr, "%s\n", done.err().message.c_str());
      status = 1;
    }
  }, boost::asio::detached);
  io.run();
  return status;
}
