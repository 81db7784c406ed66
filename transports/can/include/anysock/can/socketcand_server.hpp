// A socketcand server (linux-can/socketcand's protocol over TCP): remote
// clients (python-can's `socketcand` interface, SavvyCAN, Kayak) open one of
// the buses it was started with and then, in the mode they choose:
// * BCM (the mode `< open >` leads to): cyclic sends (`add`, `update`,
//   `delete`), content filters and subscriptions (`filter`, `subscribe`,
//   `unsubscribe`), run by the kernel's CAN_BCM on a socket of the client's;
// * raw: every frame on the bus, and `< send >` onto it;
// * control: the interface's counters every MS (`< statistics MS >`).
//
// Each client gets CAN sockets of its own, so a slow client never holds back
// another, and the kernel's default (own frames not received) makes raw
// clients hear each other and the bus, never themselves. Bus -> client
// output is batched into one buffer while a write is in flight and bounded
// by `queue` messages; beyond that frames are dropped and counted (the log,
// the end line, and `< stat >`'s fifth field), never blocking the CAN reader.
//
// Raw mode carries classic data frames; CAN FD, remote and error frames only
// where server_config says (FD and remote frames also to a client that sent
// one). Not in this part: ISO-TP mode, BCM `muxfilter`, FD jobs in BCM mode.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "anysock/can/socketcand_beacon.hpp"
#include "anysock/can/socketcand.hpp"
#include "anysock/error.hpp"

namespace anysock::can::socketcand {


// After the `< ok >` that answers `< rawmode >`, frames wait this long before
// the first one is written: python-can 4.1 reads each handshake reply with one
// recv(256) and compares it whole, so a frame glued to the `< ok >` fails
// its constructor. 100 ms is far longer than the client takes to read it.
inline constexpr std::chrono::milliseconds raw_grace{100};

// BCM mode's bounds on one client: a cyclic send faster than min_cycle would
// take a real bus for itself (a classic frame lasts ~0.25 ms at 500 kbit/s),
// and each job is kernel memory the client could otherwise grow at will.
inline constexpr std::chrono::microseconds min_cycle{1000};
inline constexpr std::size_t max_bcm_jobs = 256;  // cyclic sends, and receive filters, each
// Control mode: `< statistics MS >` below this is refused.
inline constexpr std::chrono::milliseconds min_statistics{10};

struct server_config {
  std::vector<std::string> buses;  // the only buses a client may open
  std::size_t max_clients = 0;     // 0: no limit
  std::size_t queue = 1024;        // messages waiting for a slow client, at most
  // Raw mode's frames beyond classic data frames, off by default because
  // clients that do not know them (python-can, upstream's) choke or warn.
  // FD and remote frames also go to a client once it has sent one.
  bool fd = false;
  bool remote = false;
  bool errors = false;
  std::optional<beacon_config> beacon;  // sent from start() to stop() when set
};

// One line for the first bus that is not a CAN interface that is up.
result<void> check_buses(const std::vector<std::string>& buses);

class server {
 public:
  server(boost::asio::io_context& io, server_config c);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Binds `host_port` ("127.0.0.1:29536", "[::]:0"); an IPv6 wildcard also
  // takes IPv4 clients. Returns the bound "HOST:PORT" (port 0 resolved).
  result<std::string> listen(const std::string& host_port);
  // Whether the bound address is reachable only from this machine.
  bool loopback_only() const;

  // Accepts clients and, when configured, sends the beacon.
  void start();
  // Stops accepting and the beacon, closes every client; io.run() then returns.
  void stop();

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace anysock::can::socketcand
