// Uses only the installed headers and libraries: the registry of built-in
// transports, core's server and check_echo.
//   anysock_consumer        serve on tcp://[::1]:0 in-process and check an echo
//   anysock_consumer URI    check an echo against the service at URI
// Prints "echo: <message>" per echo; exit 0 only if every byte came back.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>

#include "anysock/builtin_transports.hpp"
#include "anysock/client.hpp"
#include "anysock/registry.hpp"
#include "anysock/server.hpp"

int main(int argc, char** argv) {
  using namespace std::chrono_literals;
  anysock::registry reg;
  anysock::add_builtin_transports(reg);
  boost::asio::io_context io;

  std::optional<anysock::server> srv;
  std::string target = argc > 1 ? argv[1] : "";
  if (target.empty()) {
    auto ls = anysock::listen(reg, "tcp://[::1]:0", io);
    if (!ls) return std::fprintf(stderr, "%s\n", ls.err().message.c_str()), 3;
    srv.emplace(io, anysock::server_options{});
    for (auto& l : ls.value()) srv->add(std::move(l));
    srv->start();
    target = srv->listeners().front()->name();
    std::printf("serving %s\n", target.c_str());
  }

  int status = 1;
  const std::vector<std::string> greeting{"Hello, world", "汉语/漢語 Hànyǔ"};
  boost::asio::co_spawn(io, [&]() -> boost::asio::awaitable<void> {
    auto l = co_await anysock::connect(reg, target, 5s);
    if (!l) {
      std::fprintf(stderr, "%s\n", l.err().message.c_str());
      status = 3;
    } else {
      auto r = co_await anysock::check_echo(*l.value(), greeting, 5s,
                                            [](std::size_t, std::string_view e) {
                                              std::printf("echo: %.*s\n", int(e.size()), e.data());
                                            });
      if (!r) std::fprintf(stderr, "%s\n", r.err().message.c_str());
      status = r ? 0 : 1;
      l.value()->close();
    }
    if (srv) srv->shutdown();
  }, boost::asio::detached);
  io.run();
  return status;
}
