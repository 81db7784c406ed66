// One socketcand client as the server serves it (socketcand_server.hpp says
// what the server does; this is how one TCP client's visit goes).
#pragma once

#include <sys/socket.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "anysock/bridge_log.hpp"
#include "anysock/can/armed_wait.hpp"
#include "anysock/can/interface.hpp"
#include "anysock/can/protocol.hpp"
#include "anysock/can/socketcand.hpp"
#include "anysock/can/socketcand_server.hpp"
#include "anysock/log.hpp"
#include "anysock/session.hpp"

namespace anysock::can::socketcand::detail {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

class client : public std::enable_shared_from_this<client> {
 public:
  client(tcp::socket s, std::string peer, std::shared_ptr<const std::string> endpoint, const server_config& config,
         std::function<void(client*)> on_end);

  // Runs the visit on the socket's executor until the peer goes or close().
  void start();
  // The server stops: closes both sockets; the visit then ends and logs.
  void close();

 private:
  // Returns why the visit ended, for the log.
  asio::awaitable<std::string> serve();
  // Before raw mode: the handshake's reply to one message (always one), and
  // whether the visit ends after it or goes into raw mode.
  struct answer {
    std::string reply;
    std::string end;  // why the visit ends; empty: it goes on
    bool raw = false;
  };
  answer on_handshake(const result<std::string_view>& message);
  void enter_raw();
  // Raw mode: frames to the bus, everything else ignored (see the .cpp).
  asio::awaitable<std::string> on_raw(const result<std::string_view>& message);
  asio::awaitable<std::string> reply(std::string text);
  result<bool> open_bus();
  asio::awaitable<void> read_bus();
  void take_received(const canfd_frame& k, mmsghdr& m);
  // A frame read from the bus, with its kernel receive time.
  void take(const canfd_frame& k, std::size_t size, timestamp t);
  // Starts a write of everything buffered unless one is in flight or held.
  void flush();
  void end_write(const error_code& ec);

  tcp::socket tcp_;
  armed_raw_socket can_;
  asio::steady_timer grace_;
  std::string peer_;
  const server_config config_;  // a copy: a visit may outlast the server object
  std::function<void(client*)> on_end_;
  session session_;  // names the client for drop_log
  framer framer_;
  std::string bus_;          // the bus `< open >` chose; empty before
  std::string bus_label_;    // "can bus vcan0 for client 127.0.0.1:4000", for the send path's log
  // What a drop says, made once: a busy bus behind a client that does not
  // read drops thousands of frames a second, and none of them may allocate.
  std::string drop_destination_, drop_reason_;
  bool raw_ = false;
  bool closed_ = false;
  // Bus -> client output: frames go into out_ while sending_ is being written.
  std::string out_, sending_;
  std::size_t out_frames_ = 0;
  bool writing_ = false;
  bool held_ = false;  // the raw_grace after `< ok >`
  std::string write_failure_;
  // Counts for the end line.
  bridge_way_stats to_client_, from_client_;
  std::uint64_t ignored_ = 0, remote_skipped_ = 0, fd_skipped_ = 0;
  drop_log drops_;
  rate_limited ignore_log_, bus_log_;
  std::uint32_t kernel_dropped_ = 0;  // SO_RXQ_OVFL's count when last seen
  down_watch down_;
};

}  // namespace anysock::can::socketcand::detail
