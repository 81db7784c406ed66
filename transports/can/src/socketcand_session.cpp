#include "socketcand_session.hpp"

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <tuple>

#include "anysock/can/queued_send.hpp"
#include "anysock/executor_threads.hpp"
#include "anysock/log.hpp"
#include "anysock/uri.hpp"

namespace anysock::can::socketcand::detail {

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Frames read from the CAN socket per wake-up before output is flushed and
// the TCP side gets a turn: one write then carries up to this many frames.
constexpr unsigned bus_batch = 64;

}  // namespace

client::client(tcp::socket s, std::string peer, std::shared_ptr<const std::string> endpoint,
               const server_config& config, std::function<void(client*)> on_end)
    : tcp_(std::move(s)),
      can_(raw::socket(tcp_.get_executor())),
      grace_(tcp_.get_executor()),
      peer_(std::move(peer)),
      config_(config),
      on_end_(std::move(on_end)),
      session_(std::move(endpoint), peer_, tcp_.get_executor(), false) {}

void client::start() {
  asio::co_spawn(
      tcp_.get_executor(),
      [self = shared_from_this()]() -> asio::awaitable<void> {
        spdlog::info("socketcand client {} connected", self->peer_);
        std::string why = co_await self->serve();
        self->close();
        if (!self->write_failure_.empty()) why = self->write_failure_;
        spdlog::info("socketcand client {} ends: {} frames to it, {} from it, dropped {} ({} by the kernel), "
                     "ignored {} ({})",
                     self->peer_, self->to_client_.messages, self->from_client_.messages, self->to_client_.dropped,
                     self->kernel_dropped_, self->ignored_, why);
        if (self->remote_skipped_ || self->fd_skipped_)
          spdlog::debug("socketcand client {}: skipped {} remote and {} CAN FD frames from {}", self->peer_,
                        self->remote_skipped_, self->fd_skipped_, self->bus_);
        self->on_end_(self.get());
      },
      asio::detached);
}

void client::close() {
  if (closed_) return;
  closed_ = true;
  error_code ignored;
  tcp_.shutdown(tcp::socket::shutdown_both, ignored);
  tcp_.close(ignored);
  can_.close(ignored);
  grace_.cancel();
}

asio::awaitable<std::string> client::serve() {
  // `< hi >` alone in its write: python-can compares its first recv whole.
  if (auto e = co_await reply(std::string(hi_message)); !e.empty()) co_return e;
  std::array<char, 4096> in;
  for (;;) {
    auto [ec, n] = co_await tcp_.async_read_some(asio::buffer(in), use_tuple);
    if (ec) co_return closed_ && ec == asio::error::operation_aborted ? "server stopping" : describe_end(ec);
    framer_.feed({in.data(), n});
    while (auto m = framer_.next()) {
      if (raw_) {
        if (auto end = co_await on_raw(*m); !end.empty()) co_return end;
        continue;
      }
      auto a = on_handshake(*m);
      if (auto e = co_await reply(std::move(a.reply)); !e.empty()) co_return e;
      if (!a.end.empty()) co_return a.end;
      if (a.raw) enter_raw();
    }
  }
}

// Before raw mode nothing else writes to the client, so replies are written
// at once, each alone.
asio::awaitable<std::string> client::reply(std::string text) {
  auto [ec, n] = co_await asio::async_write(tcp_, asio::buffer(text), use_tuple);
  co_return ec ? describe_end(ec) : std::string();
}

client::answer client::on_handshake(const result<std::string_view>& message) {
  answer a;
  if (!message) {
    append_error(a.reply, message.err().message);
    return a;
  }
  auto c = parse(*message);
  if (!c) {
    if (c.err().code == errc::unsupported) a.reply = unknown_command_message;
    else append_error(a.reply, c.err().message);
    return a;
  }
  switch (c->k) {
    case kind::echo:
      a.reply = echo_message;
      return a;
    case kind::open: {
      if (!bus_.empty()) {
        append_error(a.reply, fmt::format("bus {} is already open", bus_));
        return a;
      }
      if (std::find(config_.buses.begin(), config_.buses.end(), c->text) == config_.buses.end()) {
        // Upstream closes the connection too: the client asked for a bus it cannot have.
        std::string offered;
        for (const auto& b : config_.buses) offered += (offered.empty() ? "" : ", ") + b;
        append_error(a.reply, fmt::format("unknown bus {}; this server offers {}", c->text, offered));
        a.end = fmt::format("unknown bus '{}' asked for (offered: {})", printable(c->text, 40), offered);
        return a;
      }
      bus_ = c->text;
      bus_label_ = fmt::format("can bus {} for socketcand client {}", bus_, peer_);
      drop_destination_ = "socketcand client " + peer_;
      drop_reason_ = fmt::format("it reads slower than {} carries ({} frames wait already)", bus_, config_.queue);
      a.reply = ok_message;
      return a;
    }
    case kind::rawmode: {
      if (bus_.empty()) {
        append_error(a.reply, "no bus open; send open BUS first");
        return a;
      }
      if (auto opened = open_bus(); !opened) {
        spdlog::warn("socketcand client {}: {}", peer_, opened.err().message);
        append_error(a.reply, opened.err().message);
        a.end = "its bus could not be opened";
        return a;
      }
      a.reply = ok_message;
      a.raw = true;
      return a;
    }
    case kind::bcmmode:
    case kind::controlmode:
    case kind::isotpmode:
      append_error(a.reply, fmt::format("{} is not supported by this server; use rawmode", name(c->k)));
      return a;
    default:
      append_error(a.reply, fmt::format("{} needs raw mode: send open BUS, then rawmode", name(c->k)));
      return a;
  }
}

// Called once the `< ok >` is written: frames are read from now on, and
// written once raw_grace has passed.
void client::enter_raw() {
  raw_ = true;
  held_ = true;
  grace_.expires_after(raw_grace);
  grace_.async_wait([self = shared_from_this()](error_code) {
    self->held_ = false;
    self->flush();
  });
  asio::co_spawn(
      tcp_.get_executor(), [self = shared_from_this()] { return self->read_bus(); }, asio::detached);
  spdlog::info("socketcand client {}: raw mode on {}", peer_, bus_);
}

// In raw mode nothing textual goes back for a bad message: python-can 4.6 and
// later raise on an `< error >` they did not ask for, which ends their bus.
asio::awaitable<std::string> client::on_raw(const result<std::string_view>& message) {
  if (!message) {
    ++ignored_;
    ignore_log_.warn("socketcand client {}: ignored: {}", peer_, message.err().message);
    co_return std::string();
  }
  auto c = parse(*message);
  if (!c) {
    ++ignored_;
    ignore_log_.warn("socketcand client {}: ignored `< {} >`: {}", peer_, printable(*message, 80),
                     c.err().message);
    co_return std::string();
  }
  if (c->k == kind::echo) {
    // Takes a frame's place in the queue: a client that sends echoes and
    // never reads must not grow the buffer either.
    if (out_frames_ >= config_.queue) {
      ++ignored_;
      ignore_log_.warn("socketcand client {}: echo not answered: it does not read what is sent to it", peer_);
      co_return std::string();
    }
    out_ += echo_message;
    out_ += ' ';
    ++out_frames_;
    flush();
    co_return std::string();
  }
  if (c->k != kind::send || c->f.fd || c->f.remote()) {
    ++ignored_;
    ignore_log_.warn("socketcand client {}: ignored `< {} >`: raw mode here takes only send (classic data "
                     "frames) and echo",
                     peer_, printable(*message, 80));
    co_return std::string();
  }
  canfd_frame k{};
  const std::size_t mtu = to_kernel(c->f, k);
  // Waits while the interface's transmit queue is full rather than drop:
  // the client's next message is read only once this frame is on its way.
  auto [ec, n] = co_await async_send_queued(can_, asio::buffer(&k, mtu), [this] { return bus_label_; }, use_tuple);
  if (ec == asio::error::network_down) {
    ++ignored_;
    ignore_log_.warn("{}: frame {} not sent: the interface is down", bus_label_, format_frame(c->f));
    co_return std::string();
  }
  if (ec) co_return closed_ ? std::string("server stopping") : fmt::format("CAN send failed: {}", ec.message());
  from_client_.add(c->f.len);
  log_payload(session_, "to bus", asio::buffer(c->f.data.data(), c->f.len));
  co_return std::string();
}

result<bool> client::open_bus() {
  auto u = parse_uri("can://" + bus_);
  if (!u) return u.err();
  error_code ec;
  can_.open(raw(), ec);
  if (ec) return socket_error(*u, ec, "can-raw");
  auto index = find_interface(*u, bus_, false, can_.native_handle());
  if (!index) return index.err();
  // Kernel receive times (SO_TIMESTAMP), not the time we got round to the frame.
  // SO_RXQ_OVFL: frames the kernel dropped because we read too slowly are
  // counted with ours, not lost silently.
  const int on = 1;
  if (setsockopt(can_.native_handle(), SOL_SOCKET, SO_TIMESTAMP, &on, sizeof on) != 0 ||
      setsockopt(can_.native_handle(), SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof on) != 0)
    ec = error_code(errno, boost::system::system_category());
  // Left at the kernel's defaults: no error frames, no CAN FD, own frames
  // not received (clients hear each other, never themselves).
  if (!ec) can_.bind(raw::endpoint(*index), ec);
  if (!ec) can_.non_blocking(true, ec);
  if (ec) return error{ec, fmt::format("cannot set up a CAN socket on {}: {}", bus_, ec.message())};
  return true;
}

asio::awaitable<void> client::read_bus() {
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
  for (unsigned i = 0; i < bus_read; ++i) q->iov[i] = {&q->frames[i], sizeof(canfd_frame)};
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
    if (ec || closed_) co_return;
    empty = false;
    for (unsigned read = 0; read < bus_batch;) {
      for (unsigned i = 0; i < bus_read; ++i) {
        msghdr& h = q->headers[i].msg_hdr;
        h = msghdr{};
        h.msg_iov = &q->iov[i];
        h.msg_iovlen = 1;
        h.msg_control = q->controls[i].data();
        h.msg_controllen = q->controls[i].size();
      }
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
      for (int i = 0; i < n; ++i) take_received(q->frames[i], q->headers[i]);
      read += static_cast<unsigned>(n);
      if (static_cast<unsigned>(n) < bus_read) {  // recvmmsg stops at an empty socket
        empty = true;
        break;
      }
    }
    flush();
  }
}

// A frame recvmmsg read, with its kernel time stamp and drop count.
void client::take_received(const canfd_frame& k, mmsghdr& m) {
  timestamp t{};
  bool stamped = false;
  for (cmsghdr* c = CMSG_FIRSTHDR(&m.msg_hdr); c; c = CMSG_NXTHDR(&m.msg_hdr, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMP) {
      timeval tv{};
      std::memcpy(&tv, CMSG_DATA(c), sizeof tv);
      t = {static_cast<std::uint64_t>(tv.tv_sec), static_cast<std::uint32_t>(tv.tv_usec)};
      stamped = true;
    } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
      std::uint32_t total = 0;  // dropped on this socket so far
      std::memcpy(&total, CMSG_DATA(c), sizeof total);
      if (total != kernel_dropped_) {
        to_client_.dropped += static_cast<std::uint32_t>(total - kernel_dropped_);
        bus_log_.warn("{}: the kernel dropped {} frames in all: the server reads the bus too slowly", bus_label_,
                      total);
        kernel_dropped_ = total;
      }
    }
  if (!stamped) {  // no cmsg (should not happen): the time we read it
    timeval tv{};
    gettimeofday(&tv, nullptr);
    t = {static_cast<std::uint64_t>(tv.tv_sec), static_cast<std::uint32_t>(tv.tv_usec)};
  }
  take(k, m.msg_len, t);
}

void client::take(const canfd_frame& k, std::size_t size, timestamp t) {
  if (size != CAN_MTU) {  // CAN FD frames are not asked for; should one come, skip it
    ++fd_skipped_;
    return;
  }
  const frame f = from_kernel(&k, size);
  if (f.remote()) {  // not forwarded in raw mode yet: upstream drops them too
    ++remote_skipped_;
    spdlog::debug("{}: remote frame {} skipped ({} so far)", bus_label_, format_frame(f), remote_skipped_);
    return;
  }
  if (out_frames_ >= config_.queue) {
    drops_.dropped(session_, drop_destination_, drop_reason_, to_client_);
    return;
  }
  append_frame_raw(out_, f, t);
  // One space after each message: python-can drops one byte after the last
  // whole message of each recv(), and this is the byte it drops.
  out_ += ' ';
  ++out_frames_;
  to_client_.add(f.len);
}

void client::flush() {
  if (writing_ || held_ || closed_ || out_.empty()) return;
  writing_ = true;
  std::swap(out_, sending_);
  out_.clear();
  out_frames_ = 0;
  asio::async_write(tcp_, asio::buffer(sending_),
                    [self = shared_from_this()](error_code ec, std::size_t) { self->end_write(ec); });
}

void client::end_write(const error_code& ec) {
  writing_ = false;
  sending_.clear();
  if (ec) {
    if (!closed_) write_failure_ = describe_end(ec);
    close();  // ends the read side too
    return;
  }
  flush();
}

}  // namespace anysock::can::socketcand::detail
