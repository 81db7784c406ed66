// Raw mode: every frame on the bus to the client as it comes (CAN_RAW, read
// with recvmmsg), the client's `< send >` frames onto the bus (sendmmsg of
// what one TCP read brought).
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <array>
#include <cerrno>
#include <cstring>
#include <tuple>

#include "anysock/can/queued_send.hpp"
#include "anysock/executor_threads.hpp"
#include "anysock/uri.hpp"
#include "socketcand_session.hpp"

namespace anysock::can::socketcand::detail {

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Frames read from the CAN socket per wake-up before output is flushed and
// the TCP side gets a turn: one write then carries up to this many frames.
constexpr unsigned bus_batch = 64;

}  // namespace

result<void> client::open_raw() {
  auto u = parse_uri("can://" + bus_);
  if (!u) return u.err();
  error_code ec;
  can_.open(raw(), ec);
  if (ec) return socket_error(*u, ec, "can-raw");
  auto index = find_interface(*u, bus_, false, can_.native_handle());
  if (!index) return index.err();
  ec = stamp_receptions(can_.native_handle());
  // Own frames not received, the kernel's default: clients hear each other,
  // never themselves.
  if (!ec && fd_) can_.set_option(fd_frames(1), ec);
  if (!ec && config_.errors) can_.set_option(error_filter(CAN_ERR_MASK), ec);
  if (!ec) can_.bind(raw::endpoint(*index), ec);
  if (!ec) can_.non_blocking(true, ec);
  if (ec) return error{ec, fmt::format("cannot set up a CAN socket on {}: {}", bus_, ec.message())};
  kernel_seen_ = 0;
  return {};
}

// Called once the `< ok >` is written: frames are read from now on, and
// written once raw_grace has passed.
void client::start_raw() {
  held_ = true;
  grace_.expires_after(raw_grace);
  grace_.async_wait([self = shared_from_this()](error_code) {
    self->held_ = false;
    self->flush();
  });
  asio::co_spawn(tcp_.get_executor(), [self = shared_from_this()] { return self->read_raw(); }, asio::detached);
}

// In raw mode nothing textual goes back for a bad message (see refuse()).
asio::awaitable<std::string> client::on_raw(const command& c, std::string_view message) {
  if (c.k != kind::send) {
    refuse(message, "raw mode takes only send, sendfd, fdsend, sendrtr, echo and the mode commands");
    co_return std::string();
  }
  // A client that sends a kind of frame knows it: it gets that kind too.
  if (c.f.fd && !fd_) {
    error_code ec;
    can_.set_option(fd_frames(1), ec);
    if (ec) {
      refuse(message, fmt::format("frame {} not sent: cannot turn CAN FD on: {}", format_frame(c.f), ec.message()));
      co_return std::string();
    }
    fd_ = true;
    spdlog::info("{}: the client sends CAN FD frames; it gets the bus's from now on", bus_label_);
  }
  if (c.f.remote() && !remote_) {
    remote_ = true;
    spdlog::info("{}: the client sends remote frames; it gets the bus's from now on", bus_label_);
  }
  auto& b = *to_bus_;
  b.iov[b.count].iov_len = to_kernel(c.f, b.frames[b.count]);
  b.messages[b.count] = message;
  if (++b.count == to_bus_batch::capacity) co_return co_await send_batch();
  co_return std::string();
}

asio::awaitable<std::string> client::send_batch() {
  auto& b = *to_bus_;
  unsigned done = 0;
  std::string end;
  while (done < b.count && end.empty()) {
    // One frame (a client that waits for each reply) is a plain send.
    int n = 0;
    if (b.count - done == 1)
      n = send(can_.native_handle(), b.iov[done].iov_base, b.iov[done].iov_len, MSG_DONTWAIT) < 0 ? -1 : 1;
    else
      n = sendmmsg(can_.native_handle(), &b.headers[done], b.count - done, MSG_DONTWAIT);
    if (n > 0) {
      for (unsigned i = done; i < done + static_cast<unsigned>(n); ++i) sent_to_bus(b.frames[i]);
      done += static_cast<unsigned>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {  // this frame waits for room, or is refused, alone
      stayed_ = false;
      end = co_await send_alone(b.frames[done], b.iov[done].iov_len, b.messages[done]);
      ++done;
    }
  }
  b.count = 0;
  co_return end;
}

asio::awaitable<std::string> client::send_alone(const canfd_frame& k, std::size_t mtu, std::string_view message) {
  // Waits while the interface's transmit queue is full rather than drop:
  // the client's next message is read only once this frame is on its way.
  auto [ec, n] = co_await async_send_queued(can_, asio::buffer(&k, mtu), [this] { return bus_label_; }, use_tuple);
  if (ec == asio::error::network_down) {
    refuse(message, fmt::format("frame {} not sent: {} is down", format_frame(from_kernel(&k, mtu)), bus_));
    co_return std::string();
  }
  if (ec == asio::error::invalid_argument && mtu == CANFD_MTU) {
    refuse(message,
           fmt::format("frame {} not sent: {} is no CAN FD interface", format_frame(from_kernel(&k, mtu)), bus_));
    co_return std::string();
  }
  if (ec) co_return closed_ ? std::string("server stopping") : fmt::format("CAN send failed: {}", ec.message());
  sent_to_bus(k);
  co_return std::string();
}

void client::sent_to_bus(const canfd_frame& k) {
  from_client_.add(k.len);
  log_payload(session_, "to bus", asio::buffer(k.data, k.len));
}

asio::awaitable<void> client::read_raw() {
  auto self = shared_from_this();  // the visit may end while this waits
  // One recvmmsg takes up to bus_read frames with their time stamps: under
  // load a system call per batch instead of one per frame.
  constexpr unsigned bus_read = 32;
  using control = std::array<char, CMSG_SPACE(sizeof(timeval)) + CMSG_SPACE(sizeof(std::uint32_t))>;
  struct batch {
    std::array<canfd_frame, bus_read> frames{};
    std::array<iovec, bus_read> iov{};
    std::array<mmsghdr, bus_read> headers{};
    alignas(cmsghdr) std::array<control, bus_read> controls{};
  };
  auto q = std::make_unique<batch>();  // ~4 KiB, on the heap rather than in the coroutine frame
  for (unsigned i = 0; i < bus_read; ++i) {
    q->iov[i] = {&q->frames[i], sizeof(canfd_frame)};
    msghdr& h = q->headers[i].msg_hdr;
    h.msg_iov = &q->iov[i];
    h.msg_iovlen = 1;
    h.msg_control = q->controls[i].data();
    h.msg_controllen = q->controls[i].size();
  }
  // After a read that found the socket empty, on the io_context's only
  // thread, the wait costs no epoll_ctl (armed_wait.hpp): nothing between
  // that read and the wait below goes back to the scheduler.
  const bool one_thread = runs_on_one_thread(can_.get_executor());
  bool empty = false;
  for (;;) {
    error_code ec;
    if (empty && one_thread)
      std::tie(ec) = co_await can_.async_wait_known_empty(use_tuple);
    else
      std::tie(ec) = co_await can_.async_wait(raw::socket::wait_read, use_tuple);
    if (ec || closed_ || mode_ != mode::raw) co_return;  // closed, or the client left raw mode
    empty = false;
    for (unsigned read = 0; read < bus_batch;) {
      const int n = recvmmsg(can_.native_handle(), q->headers.data(), bus_read, MSG_DONTWAIT, nullptr);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          empty = true;
          break;
        }
        if (errno == ENETDOWN) {
          down_.went_down(bus_label_);
          break;
        }
        spdlog::warn("{}: cannot read: {}", bus_label_, std::strerror(errno));
        close();
        co_return;
      }
      down_.traffic(bus_label_);
      for (int i = 0; i < n; ++i) {
        take_raw(q->frames[i], q->headers[i].msg_len, received_at(q->headers[i].msg_hdr));
        // The kernel wrote the room it used: the next read gets all of it again.
        q->headers[i].msg_hdr.msg_controllen = q->controls[i].size();
      }
      read += static_cast<unsigned>(n);
      if (static_cast<unsigned>(n) < bus_read) {  // recvmmsg stops at an empty socket
        empty = true;
        break;
      }
    }
    flush();
  }
}

void client::take_raw(const canfd_frame& k, std::size_t size, timestamp t) {
  if (size != CAN_MTU && !(size == CANFD_MTU && fd_)) {  // not asked for; should one come, skip it
    ++fd_skipped_;
    return;
  }
  const frame f = from_kernel(&k, size);
  if (f.remote() && !remote_) {  // upstream drops them too
    ++remote_skipped_;
    spdlog::debug("{}: remote frame {} skipped ({} so far)", bus_label_, format_frame(f), remote_skipped_);
    return;
  }
  if (!room_for_frame()) return;
  append_frame_raw(out_, f, t);
  // One space after each message: python-can drops one byte after the last
  // whole message of each recv(), and this is the byte it drops.
  out_ += ' ';
  ++out_messages_;
  to_client_.add(f.len);
}

}  // namespace anysock::can::socketcand::detail
