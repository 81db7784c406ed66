// The server's beacon sender (anysock/can/socketcand_beacon.hpp says what a
// beacon is). It advertises the listener's bound address and port. A wildcard
// listener ([::], 0.0.0.0) advertises the address the kernel would send the
// beacon from (a connected UDP socket's own address, re-read for every
// beacon), which the hosts that hear it can reach; with no route, the host
// name. Send failures never stop the server: they are counted and warned
// about at most once a minute.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "anysock/can/socketcand_beacon.hpp"

namespace anysock::can::socketcand::detail {

class beacon : public std::enable_shared_from_this<beacon> {
 public:
  using tcp = boost::asio::ip::tcp;
  using udp = boost::asio::ip::udp;

  beacon(boost::asio::io_context& io, beacon_config c, std::vector<std::string> buses, tcp::endpoint listener);

  // Logs where beacons go, sends one now and then one every `every`.
  void start();
  // Cancels the timer and closes the socket, so io.run() no longer waits on it.
  void stop();

  // What the beacon advertises now, e.g. "can://10.0.0.5:29536".
  std::string url() const;

 private:
  // The address clients are told to connect to; nullopt: the host name.
  std::optional<boost::asio::ip::address> address() const;
  boost::asio::awaitable<void> loop();
  void send_one();
  void failed(const std::string& why);

  boost::asio::io_context& io_;
  beacon_config config_;
  std::vector<std::string> buses_;
  tcp::endpoint listener_;
  bool broadcast_;
  boost::asio::steady_timer timer_;
  udp::socket socket_;
  std::string text_;  // the datagram being sent
  std::uint64_t sent_ = 0, failures_ = 0, unsaid_ = 0;
  std::chrono::steady_clock::time_point last_warned_{};
  bool warned_ = false, stopped_ = false;
};

}  // namespace anysock::can::socketcand::detail
