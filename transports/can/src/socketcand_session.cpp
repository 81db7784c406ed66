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

#include "anysock/executor_threads.hpp"
#include "anysock/log.hpp"

namespace anysock::can::socketcand::detail {

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

}  // namespace

client::client(tcp::socket s, std::string peer, std::shared_ptr<const std::string> endpoint,
               const server_config& config, std::shared_ptr<bus_drop_totals> drop_totals,
               std::function<void(client*)> on_end)
    : tcp_(std::move(s)),
      can_(raw::socket(tcp_.get_executor())),
      bcm_(tcp_.get_executor()),
      grace_(tcp_.get_executor()),
      drained_(tcp_.get_executor()),
      stats_timer_(tcp_.get_executor()),
      peer_(std::move(peer)),
      config_(config),
      drop_totals_(std::move(drop_totals)),
      on_end_(std::move(on_end)),
      session_(std::move(endpoint), peer_, tcp_.get_executor(), false),
      fd_(config.fd),
      remote_(config.remote) {}

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
        if (self->remote_skipped_)
          spdlog::info("socketcand client {}: {} remote frames on {} not sent to it (--rtr carries them)",
                       self->peer_, self->remote_skipped_, self->bus_);
        if (self->fd_skipped_)
          spdlog::info("socketcand client {}: {} CAN FD frames on {} not sent to it (BCM mode carries classic "
                       "frames only)", self->peer_, self->fd_skipped_, self->bus_);
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
  bcm_.close(ignored);
  grace_.cancel();
  drained_.cancel();
  stats_timer_.cancel();
}

asio::awaitable<std::string> client::serve() {
  // `< hi >` alone in its write: python-can compares its first recv whole.
  if (auto e = co_await reply_alone(std::string(hi_message)); !e.empty()) co_return e;
  // Non-blocking for the reads and writes tried at once (flush(), below).
  if (error_code ec; tcp_.non_blocking(true, ec), ec) co_return fmt::format("socket setup failed: {}", ec.message());
  one_thread_ = runs_on_one_thread(tcp_.get_executor());
  std::array<char, 4096> in;
  // Every read is made here, non-blocking, so whether it emptied the socket
  // is known. A wait then follows a read that found nothing or read less
  // than its buffer with only raw sends since (all sent at once): in both
  // cases this thread has not been back in the scheduler, where epoll_wait
  // could have taken the edge of data that came since, so the wait needs no
  // system call (armed_wait.hpp). A read completed by Asio would not say
  // that: its completion is posted, and the reactor may run before it.
  const auto end_of = [&](const error_code& ec) {
    return closed_ ? std::string("server stopping") : describe_end(ec);
  };
  for (;;) {
    error_code ec;
    const std::size_t n = tcp_.read_some(asio::buffer(in), ec);
    if (ec == asio::error::would_block) {
      if (ec = co_await tcp_readable(); ec) co_return end_of(ec);
      continue;
    }
    if (ec == asio::error::interrupted) continue;
    if (ec) co_return end_of(ec);
    framer_.feed({in.data(), n});
    stayed_ = true;
    while (auto m = framer_.next())
      if (auto end = co_await on_message(*m); !end.empty()) co_return end;
    if (to_bus_->count)
      if (auto end = co_await send_batch(); !end.empty()) co_return end;
    // A short read took all there was: wait rather than read to find nothing.
    if (stayed_ && n < in.size())
      if (ec = co_await tcp_readable(); ec) co_return end_of(ec);
  }
}

asio::awaitable<error_code> client::tcp_readable() {
  auto [ec] = one_thread_ ? co_await tcp_.async_wait_known_empty(use_tuple)
                          : co_await tcp_.async_wait(tcp::socket::wait_read, use_tuple);
  co_return ec;
}

asio::awaitable<std::string> client::on_message(const result<std::string_view>& message) {
  if (!message) {
    refuse({}, message.err().message);
    co_return std::string();
  }
  auto c = parse(*message);
  // What is not a raw mode `< send >` may change the bus or wait: frames
  // read before it go first, and the next read cannot count on "empty".
  if (!c || c->k != kind::send || mode_ != mode::raw) {
    stayed_ = false;
    if (to_bus_->count)
      if (auto end = co_await send_batch(); !end.empty()) co_return end;
  }
  if (!c) {
    // Upstream's words for what it does not know, which clients may match.
    if (c.err().code == errc::unsupported) refuse(*message, c.err().message, "unknown command");
    else refuse(*message, c.err().message);
    co_return std::string();
  }
  switch (c->k) {
    case kind::echo:
      say(echo_message);
      co_return std::string();
    case kind::open:
      co_return co_await on_open(*c);
    case kind::rawmode:
    case kind::bcmmode:
    case kind::controlmode:
    case kind::isotpmode:
      co_return co_await switch_mode(c->k);
    case kind::hi:
    case kind::ok:
    case kind::error:
    case kind::frame:
    case kind::stat:
      refuse(*message, fmt::format("`{}` is what a server says, not a command for one", name(c->k)));
      co_return std::string();
    default:
      break;
  }
  switch (mode_) {
    case mode::no_bus:
      refuse(*message, fmt::format("{} needs an open bus: open BUS first", name(c->k)));
      co_return std::string();
    case mode::raw:
      co_return co_await on_raw(*c, *message);
    case mode::bcm:
      co_return co_await on_bcm(*c, *message);
    case mode::control:
      on_control(*c, *message);
      co_return std::string();
  }
  co_return std::string();
}

// Opening a bus leads to BCM mode, as upstream's does.
asio::awaitable<std::string> client::on_open(const command& c) {
  if (mode_ != mode::no_bus) {
    refuse(c.text, fmt::format("bus {} is already open", bus_));
    co_return std::string();
  }
  const auto found = drop_totals_->find(c.text);
  if (found == drop_totals_->end()) {
    // Upstream closes the connection too: the client asked for a bus it cannot have.
    std::string offered;
    for (const auto& b : config_.buses) offered += (offered.empty() ? "" : ", ") + b;
    std::string text;
    append_error(text, fmt::format("unknown bus {}; this server offers {}", c.text, offered));
    if (auto e = co_await reply_alone(std::move(text)); !e.empty()) co_return e;
    co_return fmt::format("unknown bus '{}' asked for (offered: {})", printable(c.text, 40), offered);
  }
  bus_ = c.text;
  bus_dropped_ = &found->second;
  bus_label_ = fmt::format("can bus {} for socketcand client {}", bus_, peer_);
  drop_destination_ = "socketcand client " + peer_;
  drop_reason_ = fmt::format("it reads slower than {} carries ({} messages wait already)", bus_, config_.queue);
  stats_path_ = fmt::format("/sys/class/net/{}/statistics/", bus_);
  if (auto opened = open_bcm(); !opened) {
    spdlog::warn("socketcand client {}: {}", peer_, opened.err().message);
    std::string text;
    append_error(text, opened.err().message);
    if (auto e = co_await reply_alone(std::move(text)); !e.empty()) co_return e;
    co_return "its bus could not be opened";
  }
  mode_ = mode::bcm;
  spdlog::info("socketcand client {}: opened {} (BCM mode)", peer_, bus_);
  if (auto e = co_await reply_alone(std::string(ok_message)); !e.empty()) co_return e;
  start_bcm();
  co_return std::string();
}

asio::awaitable<std::string> client::switch_mode(kind k) {
  if (mode_ == mode::no_bus) {
    refuse(name(k), "no bus open: open BUS first");
    co_return std::string();
  }
  if (k == kind::isotpmode) {
    refuse(name(k), "isotpmode is not supported by this server; use rawmode or bcmmode");
    co_return std::string();
  }
  const mode next = k == kind::rawmode ? mode::raw : k == kind::bcmmode ? mode::bcm : mode::control;
  if (next == mode_) {  // upstream says `unknown command` here; nothing is wrong, so: `< ok >`
    say(ok_message);
    co_return std::string();
  }
  leave_mode();
  auto opened = next == mode::raw ? open_raw() : next == mode::bcm ? open_bcm() : result<void>();
  if (!opened) {
    spdlog::warn("socketcand client {}: {}", peer_, opened.err().message);
    std::string text;
    append_error(text, opened.err().message);
    if (auto e = co_await reply_alone(std::move(text)); !e.empty()) co_return e;
    co_return "its bus could not be opened";
  }
  mode_ = next;
  // Frames read before the `< ok >` is out would go before it or glued to it.
  if (auto e = co_await reply_alone(std::string(ok_message)); !e.empty()) co_return e;
  if (next == mode::raw) start_raw();
  if (next == mode::bcm) start_bcm();
  spdlog::info("socketcand client {}: {} mode on {}", peer_,
               next == mode::raw ? "raw" : next == mode::bcm ? "BCM" : "control", bus_);
  co_return std::string();
}

void client::leave_mode() {
  error_code ignored;
  switch (mode_) {
    case mode::raw:
      can_.close(ignored);
      break;
    case mode::bcm:
      bcm_.close(ignored);  // the kernel ends the socket's cyclic jobs and filters with it
      tx_jobs_.clear();
      rx_jobs_.clear();
      break;
    case mode::control:
      stats_ms_ = 0;
      stats_timer_.cancel();
      break;
    case mode::no_bus:
      break;
  }
}

asio::awaitable<void> client::drained() {
  while (!closed_ && (writing_ || !out_.empty())) {
    drained_.expires_at(asio::steady_timer::time_point::max());
    drain_awaited_ = true;
    co_await drained_.async_wait(use_tuple);
    drain_awaited_ = false;
  }
}

asio::awaitable<std::string> client::reply_alone(std::string text) {
  co_await drained();
  if (closed_) co_return std::string("server stopping");
  writing_ = true;
  auto [ec, n] = co_await asio::async_write(tcp_, asio::buffer(text), use_tuple);
  writing_ = false;
  if (ec) co_return closed_ && ec == asio::error::operation_aborted ? std::string("server stopping") : describe_end(ec);
  flush();
  co_return std::string();
}

void client::refuse(std::string_view message, std::string_view why, std::string_view answer) {
  ++ignored_;
  if (message.empty()) ignore_log_.warn("socketcand client {}: ignored: {}", peer_, why);
  else ignore_log_.warn("socketcand client {}: ignored `< {} >`: {}", peer_, printable(message, 80), why);
  if (mode_ == mode::raw) return;
  std::string text;
  append_error(text, answer.empty() ? why : answer);
  say(text);
}

void client::say(std::string_view text) {
  // Counted against the queue like a frame: a client that sends echoes and
  // never reads must not grow the buffer either.
  if (out_messages_ >= config_.queue) {
    ++ignored_;
    ignore_log_.warn("socketcand client {}: `{}` not sent: it does not read what is sent to it", peer_,
                     printable(text, 60));
    return;
  }
  out_ += text;
  if (mode_ == mode::raw) out_ += ' ';  // see take_raw
  ++out_messages_;
  flush();
}

bool client::room_for_frame() {
  if (out_messages_ < config_.queue) return true;
  drops_.dropped(session_, drop_destination_, drop_reason_, to_client_);
  bus_dropped_->fetch_add(1, std::memory_order_relaxed);
  return false;
}

error_code stamp_receptions(int fd) {
  const int on = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMP, &on, sizeof on) != 0)
    return error_code(errno, boost::system::system_category());
  return overflow_watch::enable(fd);
}

timestamp client::received_at(msghdr& h) {
  timestamp t{};
  bool stamped = false;
  for (cmsghdr* c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMP) {
      timeval tv{};
      std::memcpy(&tv, CMSG_DATA(c), sizeof tv);
      t = {static_cast<std::uint64_t>(tv.tv_sec), static_cast<std::uint32_t>(tv.tv_usec)};
      stamped = tv.tv_sec != 0 || tv.tv_usec != 0;
    }
  if (auto total = overflow_watch::count_in(h); total && *total != kernel_seen_) {  // dropped on this socket so far
    const std::uint32_t more = *total - kernel_seen_;
    to_client_.dropped += more;
    kernel_dropped_ += more;
    bus_dropped_->fetch_add(more, std::memory_order_relaxed);
    bus_log_.warn("{}: the kernel dropped {} frames in all: the server reads the bus too slowly", bus_label_,
                  kernel_dropped_);
    kernel_seen_ = *total;
  }
  if (!stamped) {  // no time stamp (should not happen): the time we read it
    timeval tv{};
    gettimeofday(&tv, nullptr);
    t = {static_cast<std::uint64_t>(tv.tv_sec), static_cast<std::uint32_t>(tv.tv_usec)};
  }
  return t;
}

void client::flush() {
  if (writing_ || held_ || closed_ || out_.empty()) return;
  out_messages_ = 0;
  // Tried at once first: the socket's buffer almost always takes it all,
  // and then no write operation is queued and no completion runs.
  error_code ec;
  const std::size_t n = tcp_.write_some(asio::buffer(out_), ec);
  if (!ec && n == out_.size()) {
    out_.clear();
    if (drain_awaited_) drained_.cancel();
    return;
  }
  // The rest waits for room; an error is reported by the write's end.
  const std::size_t done = ec ? 0 : n;
  writing_ = true;
  std::swap(out_, sending_);
  out_.clear();
  asio::async_write(tcp_, asio::buffer(sending_) + done,
                    [self = shared_from_this()](error_code e, std::size_t) { self->end_write(e); });
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
  if (drain_awaited_ && !writing_ && out_.empty()) drained_.cancel();
}

}  // namespace anysock::can::socketcand::detail
