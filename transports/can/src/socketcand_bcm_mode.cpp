// BCM mode: the client's cyclic sends and receive filters become jobs of the
// kernel's broadcast manager on a CAN_BCM socket of the client's, as upstream
// socketcand does; what the filters let through goes to the client in BCM
// mode's spaced form. Closing the socket (leaving the mode, or the visit)
// ends every job.
#include <linux/can/bcm.h>
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "anysock/can/queued_send.hpp"
#include "anysock/uri.hpp"
#include "socketcand_session.hpp"

namespace anysock::can::socketcand::detail {

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// BCM messages read per wake-up before output is flushed.
constexpr unsigned bcm_batch = 64;
// The kernel refuses longer intervals (BCM_TIMER_SEC_MAX).
constexpr std::uint64_t longest_interval_s = 400ULL * 24 * 3600;

// A bcm_msg_head and the frames after it, as the kernel reads and writes them
// (the header's frames[] is a flexible array member, so not a C++ struct).
// No bcm_msg_head may live in a coroutine frame either (GCC rejects a struct
// with a flexible array member inside another): these helpers hold them.
struct bcm_message {
  alignas(bcm_msg_head) std::array<unsigned char, sizeof(bcm_msg_head) + sizeof(canfd_frame)> bytes{};
  std::size_t size = 0;
};

// What read_bcm needs of a received header.
struct bcm_report {
  std::uint32_t opcode = 0, flags = 0, nframes = 0;
};

bcm_report report_of(const bcm_message& m) {
  bcm_msg_head h;
  std::memcpy(&h, m.bytes.data(), sizeof h);
  return {h.opcode, h.flags, h.nframes};
}

// A job message: a TX or RX setup with the frame (the content to send, or
// the mask to filter on) when it takes one, a TX_SEND, or a delete.
bcm_message job_message(std::uint32_t opcode, std::uint32_t flags, const frame& f, timestamp every) {
  bcm_msg_head h{};
  h.opcode = opcode;
  h.flags = flags;
  h.can_id = f.id;
  h.ival2.tv_sec = static_cast<long>(every.sec);
  h.ival2.tv_usec = static_cast<long>(every.usec);
  const bool with_frame =
      opcode == TX_SETUP || opcode == TX_SEND || (opcode == RX_SETUP && !(flags & RX_FILTER_ID));
  h.nframes = with_frame ? 1 : 0;
  bcm_message m;
  std::memcpy(m.bytes.data(), &h, sizeof h);
  m.size = sizeof h;
  if (with_frame) {
    can_frame k{};
    k.can_id = f.id;
    k.len = f.len;
    std::memcpy(k.data, f.data.data(), f.len);
    std::memcpy(m.bytes.data() + sizeof h, &k, sizeof k);
    m.size += sizeof k;
  }
  return m;
}

std::chrono::microseconds length_of(timestamp t) {
  return std::chrono::seconds(t.sec) + std::chrono::microseconds(t.usec);
}

std::string id_text(canid_t id) {
  return (id & CAN_EFF_FLAG) ? fmt::format("{:08X}", id & CAN_EFF_MASK) : fmt::format("{:03X}", id & CAN_SFF_MASK);
}

}  // namespace

result<void> client::open_bcm() {
  auto u = parse_uri("can://" + bus_);
  if (!u) return u.err();
  error_code ec;
  bcm_.open(bcm(), ec);
  if (ec) return socket_error(*u, ec, "can-bcm");
  auto index = find_interface(*u, bus_, false, bcm_.native_handle());
  if (!index) return index.err();
  // The kernel stamps what a filter passes with the frame's receive time.
  ec = stamp_receptions(bcm_.native_handle());
  if (!ec) bcm_.connect(bcm::endpoint(*index), ec);
  if (!ec) bcm_.non_blocking(true, ec);
  if (ec) return error{ec, fmt::format("cannot set up a CAN BCM socket on {}: {}", bus_, ec.message())};
  kernel_seen_ = 0;
  tx_jobs_.clear();
  rx_jobs_.clear();
  return {};
}

result<void> client::bcm_setup(std::uint32_t opcode, std::uint32_t flags, const command& c) {
  const auto m = job_message(opcode, flags, c.f, c.time);
  if (::send(bcm_.native_handle(), m.bytes.data(), m.size, 0) < 0) {
    const int e = errno;
    return error{std::error_code(e, std::generic_category()),
                 fmt::format("{} {}: the kernel refused it: {}", name(c.k), id_text(c.f.id), std::strerror(e))};
  }
  return {};
}

asio::awaitable<std::string> client::on_bcm(const command& c, std::string_view message) {
  const auto id = id_text(c.f.id);
  const bool timed = c.k == kind::add || c.k == kind::filter || c.k == kind::subscribe;
  if (timed && c.time.sec > longest_interval_s) {
    refuse(message, fmt::format("{} {}: an interval over 400 days is more than the kernel takes", name(c.k), id));
    co_return std::string();
  }
  result<void> done;
  switch (c.k) {
    case kind::send: {
      if (c.f.fd) {
        refuse(message, "CAN FD frames go in raw mode only here: switch with rawmode first");
        co_return std::string();
      }
      const auto m = job_message(TX_SEND, 0, c.f, {});
      // Waits while the interface's transmit queue is full, as raw mode does.
      auto [ec, n] = co_await async_send_queued(bcm_, asio::buffer(m.bytes.data(), m.size),
                                                [this] { return bus_label_; }, use_tuple);
      if (ec == asio::error::network_down) {
        refuse(message, fmt::format("frame {} not sent: {} is down", format_frame(c.f), bus_));
        co_return std::string();
      }
      if (ec) co_return closed_ ? std::string("server stopping") : fmt::format("CAN send failed: {}", ec.message());
      from_client_.add(c.f.len);
      co_return std::string();
    }
    case kind::add: {
      const auto every = length_of(c.time);
      if (every != std::chrono::microseconds::zero() && every < min_cycle) {
        refuse(message, fmt::format("add {}: an interval of {} us is below this server's least, {} us", id,
                                    every.count(), min_cycle.count()));
        co_return std::string();
      }
      if (!tx_jobs_.contains(c.f.id) && tx_jobs_.size() >= max_bcm_jobs) {
        refuse(message, fmt::format("add {}: this client has {} cyclic sends already, the most a client may "
                                    "have; delete one first", id, max_bcm_jobs));
        co_return std::string();
      }
      // The kernel sends the frame at once, then every interval (none if 0).
      done = bcm_setup(TX_SETUP, SETTIMER | STARTTIMER, c);
      if (done) tx_jobs_.insert(c.f.id);
      break;
    }
    case kind::update:
      if (!tx_jobs_.contains(c.f.id)) {
        refuse(message, fmt::format("update {}: there is no cyclic send of {}; add one first", id, id));
        co_return std::string();
      }
      done = bcm_setup(TX_SETUP, 0, c);  // new content, the timers untouched
      break;
    case kind::del:
      if (!tx_jobs_.contains(c.f.id)) {
        refuse(message, fmt::format("delete {}: there is no cyclic send of {}", id, id));
        co_return std::string();
      }
      done = bcm_setup(TX_DELETE, 0, c);
      if (done) tx_jobs_.erase(c.f.id);
      break;
    case kind::filter:
    case kind::subscribe:
      if (!rx_jobs_.contains(c.f.id) && rx_jobs_.size() >= max_bcm_jobs) {
        refuse(message, fmt::format("{} {}: this client has {} receive filters already, the most a client may "
                                    "have; unsubscribe one first", name(c.k), id, max_bcm_jobs));
        co_return std::string();
      }
      // filter: only frames whose masked content changed; subscribe: every
      // frame of the ID. Either at most once per interval when it is not 0.
      done = bcm_setup(RX_SETUP, c.k == kind::filter ? SETTIMER : RX_FILTER_ID | SETTIMER, c);
      if (done) rx_jobs_.insert(c.f.id);
      break;
    case kind::unsubscribe:
      if (!rx_jobs_.contains(c.f.id)) {
        refuse(message, fmt::format("unsubscribe {}: there is no filter or subscription for {}", id, id));
        co_return std::string();
      }
      done = bcm_setup(RX_DELETE, 0, c);
      if (done) rx_jobs_.erase(c.f.id);
      break;
    case kind::statistics:
      refuse(message, "statistics needs control mode: switch with controlmode first");
      co_return std::string();
    default:
      refuse(message, fmt::format("{} is not a command of BCM mode (send, add, update, delete, filter, subscribe, "
                                  "unsubscribe, echo)", name(c.k)));
      co_return std::string();
  }
  if (!done) refuse(message, done.err().message);
  co_return std::string();
}

void client::start_bcm() {
  asio::co_spawn(tcp_.get_executor(), [self = shared_from_this()] { return self->read_bcm(); }, asio::detached);
}

asio::awaitable<void> client::read_bcm() {
  auto self = shared_from_this();  // the visit may end while this waits
  using control = std::array<char, CMSG_SPACE(sizeof(timeval)) + CMSG_SPACE(sizeof(std::uint32_t))>;
  bcm_message m;
  alignas(cmsghdr) control cmsgs{};
  for (;;) {
    auto [ec] = co_await bcm_.async_wait(bcm::socket::wait_read, use_tuple);
    if (ec || closed_ || mode_ != mode::bcm) co_return;  // closed, or the client left BCM mode
    for (unsigned read = 0; read < bcm_batch; ++read) {
      iovec iov{m.bytes.data(), m.bytes.size()};
      msghdr h{};
      h.msg_iov = &iov;
      h.msg_iovlen = 1;
      h.msg_control = cmsgs.data();
      h.msg_controllen = cmsgs.size();
      const ssize_t n = recvmsg(bcm_.native_handle(), &h, MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        if (errno == ENETDOWN) {
          down_.went_down(bus_label_);
          break;
        }
        spdlog::warn("{}: cannot read the BCM socket: {}", bus_label_, std::strerror(errno));
        close();
        co_return;
      }
      down_.traffic(bus_label_);
      const timestamp t = received_at(h);
      const auto head = report_of(m);
      // RX_CHANGED with its one frame is all our jobs report (no timeouts, no
      // TX_EXPIRED: neither is asked for).
      if (head.opcode != RX_CHANGED || head.nframes != 1 ||
          static_cast<std::size_t>(n) < sizeof(bcm_msg_head) + sizeof(can_frame)) {
        spdlog::debug("{}: BCM message {} ({} bytes) skipped", bus_label_, head.opcode, n);
        continue;
      }
      if (head.flags & CAN_FD_FRAME) {
        ++fd_skipped_;
        continue;
      }
      const frame f = from_kernel(m.bytes.data() + sizeof(bcm_msg_head), CAN_MTU);
      if (!room_for_frame()) continue;
      append_frame_bcm(out_, f, t);
      ++out_messages_;
      to_client_.add(f.len);
    }
    flush();
  }
}

}  // namespace anysock::can::socketcand::detail
