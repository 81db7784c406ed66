// An echo server running in the test process on its own thread, over real
// loopback sockets, plus small blocking-client helpers.
#pragma once

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "anysock/builtin_transports.hpp"
#include "anysock/server.hpp"
#include "anysock/tcp/tcp.hpp"

namespace anysock::test {

namespace ip = boost::asio::ip;

class running_server {
 public:
  explicit running_server(const std::vector<std::string>& uris, server_options o = {}) : srv_(io_, o) {
    registry reg;
    add_builtin_transports(reg);
    for (const auto& text : uris) {
      auto u = parse_uri(text);
      if (!u) throw std::runtime_error(u.err().message);
      auto t = reg.resolve(*u);
      if (!t) throw std::runtime_error(t.err().message);
      auto ls = (*t)->listen(*u, io_);
      if (!ls) throw std::runtime_error(ls.err().message);
      for (auto& l : ls.value()) srv_.add(std::move(l));
    }
    srv_.start();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~running_server() { stop(); }

  // The port the n-th listener got (URIs with port 0 get a free one).
  std::uint16_t port(std::size_t n = 0) const {
    auto name = srv_.listeners().at(n)->name();
    return static_cast<std::uint16_t>(std::stoi(name.substr(name.rfind(':') + 1)));
  }
  server& get() { return srv_; }

  void stop() {
    if (!thread_.joinable()) return;
    srv_.shutdown();
    thread_.join();
  }

 private:
  boost::asio::io_context io_;
  server srv_;
  std::thread thread_;
};

inline ip::tcp::socket connect_to(boost::asio::io_context& io, const std::string& addr, std::uint16_t port) {
  ip::tcp::socket s(io);
  s.connect(ip::tcp::endpoint(boost::asio::ip::make_address(addr), port));
  return s;
}

// Sends `msg` and reads back exactly as many bytes.
inline std::string round_trip(ip::tcp::socket& s, const std::string& msg) {
  boost::asio::write(s, boost::asio::buffer(msg));
  std::string got(msg.size(), '\0');
  boost::asio::read(s, boost::asio::buffer(got));
  return got;
}

// 1,000 clients and the server's 1,000 links share this process.
inline void raise_fd_limit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}

}  // namespace anysock::test
