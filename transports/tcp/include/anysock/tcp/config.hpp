// What a tcp:// URI says: host, port and socket options. No sockets here, so
// the link, the acceptor and a fuzzer share one parser.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>

#include "anysock/error.hpp"
#include "anysock/uri.hpp"

namespace anysock::tcp {

struct options {
  bool nodelay = true;   // Nagle + delayed ACK cost ~44 ms per 64 KiB echo
  bool v6only = false;   // [::] accepts IPv4-mapped peers unless asked not to
  bool reuseport = false;  // SO_REUSEPORT: one listener per thread, the kernel spreads links
  int backlog = SOMAXCONN;  // what Asio's max_listen_connections is on Linux
};

// Reads the tcp:// options (v6only, nodelay, backlog, reuseport) and the host:port.
struct endpoint_spec {
  std::string host;
  std::uint16_t port = 0;
  options opts;
};
result<endpoint_spec> parse(const uri& u);

}  // namespace anysock::tcp
