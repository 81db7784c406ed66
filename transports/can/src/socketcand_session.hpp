// One socketcand client as the server serves it (socketcand_server.hpp says
// what the server does; this is how one TCP client's visit goes).
//
// A visit is in one mode at a time, as upstream's state machine is: no bus
// (before `< open >`), BCM (the mode `< open >` leads to), raw, or control.
// Each mode owns what it reads from (a CAN_BCM socket, a CAN_RAW socket, a
// statistics timer); leaving a mode closes it, so a BCM client's cyclic jobs
// end with its BCM socket, as upstream's do. Everything the server says after
// `< hi >` goes through one bounded output buffer, except a mode's `< ok >`,
// which is written alone once what came before it has gone (python-can
// compares each handshake reply whole).
#pragma once

#include <sys/socket.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
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

// Frames the server dropped for slow clients, per bus, since it started: the
// fifth field of `< stat >`. The map's keys are fixed when the server starts.
using bus_drop_totals = std::map<std::string, std::atomic<std::uint64_t>, std::less<>>;

// Kernel receive times (SO_TIMESTAMP), not the time we got round to a
// frame, and SO_RXQ_OVFL: frames the kernel dropped because we read too
// slowly are counted with ours (client::received_at), not lost silently.
error_code stamp_receptions(int fd);

class client : public std::enable_shared_from_this<client> {
 public:
  client(tcp::socket s, std::string peer, std::shared_ptr<const std::string> endpoint, const server_config& config,
         std::shared_ptr<bus_drop_totals> drop_totals, std::function<void(client*)> on_end);

  // Runs the visit on the socket's executor until the peer goes or close().
  void start();
  // The server stops: closes every socket; the visit then ends and logs.
  void close();

 private:
  enum class mode : std::uint8_t { no_bus, bcm, raw, control };

  // Returns why the visit ended, for the log; empty while it goes on.
  asio::awaitable<std::string> serve();
  // Waits until the TCP socket is readable; only right after a read of
  // serve()'s found it empty (see there).
  asio::awaitable<error_code> tcp_readable();
  asio::awaitable<std::string> on_message(const result<std::string_view>& message);
  asio::awaitable<std::string> on_open(const command& c);
  asio::awaitable<std::string> switch_mode(kind k);
  // Closes what the current mode reads from.
  void leave_mode();
  // Waits until everything queued for the client has been written.
  asio::awaitable<void> drained();
  // Writes text alone, with nothing queued before or after it.
  asio::awaitable<std::string> reply_alone(std::string text);
  // A bad or unusable message: `< error TEXT >` back, except in raw mode,
  // where python-can 4.6 and later raise on an `< error >` it did not ask
  // for; there it is counted and logged only.
  // `message` is what was refused (empty when it never became one), `why`
  // what the log says, `answer` what the client is told (default: why).
  void refuse(std::string_view message, std::string_view why, std::string_view answer = {});
  // Queues one message of the server's (not a frame) for the client.
  void say(std::string_view text);

  // Raw mode (socketcand_raw_mode.cpp).
  result<void> open_raw();
  void start_raw();
  asio::awaitable<std::string> on_raw(const command& c, std::string_view message);
  // The frames of `< send >`s read together go onto the bus in one
  // sendmmsg; one the kernel does not take at once goes alone, waiting
  // for room (send_alone).
  asio::awaitable<std::string> send_batch();
  asio::awaitable<std::string> send_alone(const canfd_frame& k, std::size_t mtu, std::string_view message);
  void sent_to_bus(const canfd_frame& k);
  asio::awaitable<void> read_raw();
  void take_raw(const canfd_frame& k, std::size_t size, timestamp t);

  // BCM mode (socketcand_bcm_mode.cpp).
  result<void> open_bcm();
  void start_bcm();
  asio::awaitable<std::string> on_bcm(const command& c, std::string_view message);
  asio::awaitable<void> read_bcm();
  result<void> bcm_setup(std::uint32_t opcode, std::uint32_t flags, const command& c);

  // Control mode (socketcand_control_mode.cpp).
  void on_control(const command& c, std::string_view message);
  void arm_statistics();
  void send_statistics();

  // Bus -> client output.
  // Whether one more message fits; counts a frame that does not as dropped.
  bool room_for_frame();
  // The kernel's receive time of a message (SO_TIMESTAMP), counting what
  // SO_RXQ_OVFL says the kernel dropped since the last one.
  timestamp received_at(msghdr& h);
  // Starts a write of everything buffered unless one is in flight or held.
  void flush();
  void end_write(const error_code& ec);

  armed_socket<tcp::socket> tcp_;
  armed_raw_socket can_;
  bcm::socket bcm_;
  asio::steady_timer grace_, drained_, stats_timer_;
  std::string peer_;
  const server_config config_;  // a copy: a visit may outlast the server object
  std::shared_ptr<bus_drop_totals> drop_totals_;
  std::atomic<std::uint64_t>* bus_dropped_ = nullptr;  // this bus's entry in drop_totals_
  std::function<void(client*)> on_end_;
  session session_;  // names the client for drop_log
  framer framer_;
  mode mode_ = mode::no_bus;
  std::string bus_;          // the bus `< open >` chose; empty before
  std::string bus_label_;    // "can bus vcan0 for socketcand client 127.0.0.1:4000", for logs
  // What a drop says, made once: a busy bus behind a client that does not
  // read drops thousands of frames a second, and none of them may allocate.
  std::string drop_destination_, drop_reason_;
  std::string stats_path_;   // /sys/class/net/BUS/statistics/
  bool closed_ = false;
  // Bus -> client output: messages go into out_ while sending_ is being written.
  std::string out_, sending_;
  std::size_t out_messages_ = 0;
  bool writing_ = false;
  bool held_ = false;  // the raw_grace after the raw mode's `< ok >`
  bool drain_awaited_ = false;  // drained() waits: end of a write wakes it
  std::string write_failure_;
  // Client -> bus: the `< send >` frames of one TCP read, for send_batch().
  struct to_bus_batch {
    static constexpr unsigned capacity = 64;
    std::array<canfd_frame, capacity> frames{};
    std::array<iovec, capacity> iov{};
    std::array<mmsghdr, capacity> headers{};
    std::array<std::string_view, capacity> messages{};  // valid until the framer's next feed()
    unsigned count = 0;
    to_bus_batch() {
      for (unsigned i = 0; i < capacity; ++i) {
        iov[i].iov_base = &frames[i];
        headers[i].msg_hdr.msg_iov = &iov[i];
        headers[i].msg_hdr.msg_iovlen = 1;
      }
    }
  };
  std::unique_ptr<to_bus_batch> to_bus_ = std::make_unique<to_bus_batch>();
  // True while nothing since the last TCP read went back to the scheduler:
  // a short read then proves the socket still empty (armed_wait.hpp).
  bool stayed_ = false;
  bool one_thread_ = false;  // the io_context runs on this thread only
  // BCM jobs this client set up, by CAN ID (with CAN_EFF_FLAG): cyclic sends
  // and receive filters, each bounded by max_bcm_jobs.
  std::set<canid_t> tx_jobs_, rx_jobs_;
  bool fd_ = false, remote_ = false;  // raw mode carries these to the client
  std::uint32_t stats_ms_ = 0;  // control mode's `< statistics MS >`; 0: off
  // Counts for the end line.
  bridge_way_stats to_client_, from_client_;
  std::uint64_t ignored_ = 0, remote_skipped_ = 0, fd_skipped_ = 0;
  drop_log drops_;
  rate_limited ignore_log_, bus_log_;
  std::uint64_t kernel_dropped_ = 0;  // by the kernel, on every socket of the visit
  std::uint32_t kernel_seen_ = 0;     // SO_RXQ_OVFL's count on the current socket when last seen
  down_watch down_;
};

}  // namespace anysock::can::socketcand::detail
