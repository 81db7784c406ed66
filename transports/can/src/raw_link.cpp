#include "anysock/can/raw_link.hpp"

#include <net/if.h>
#include <sys/socket.h>

#include <cerrno>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace anysock::can {

std::string raw_link::interface_name() const {
  error_code ec;
  auto ep = socket_.local_endpoint(ec);
  char name[IF_NAMESIZE] = "?";
  if (!ec) if_indextoname(static_cast<unsigned>(ep.interface_index()), name);
  return name;
}

bool raw_link::reply_lost_to_down_interface(error_code& ec, const canfd_frame& k, std::size_t mtu) {
  if (ec != asio::error::network_down || frames_.role() != role::responder) return false;
  down_.reply_lost(peer_);
  spdlog::debug("{}: reply {} not sent: the interface is down", peer_, format_frame(from_kernel(&k, mtu)));
  ec = {};
  return true;
}

raw_link::rx_batch::rx_batch() : frames{}, iov{}, headers{} {
  for (unsigned i = 0; i < capacity; ++i) {
    iov[i] = {&frames[i], sizeof(canfd_frame)};
    headers[i].msg_hdr.msg_iov = &iov[i];
    headers[i].msg_hdr.msg_iovlen = 1;
    headers[i].msg_hdr.msg_control = control[i].bytes;
  }
}

void raw_link::close() {
  error_code ignored;
  if (socket_.is_open()) overflow_.closing(socket_.native_handle(), peer_);
  socket_.close(ignored);
}

bool raw_link::fill(error_code& ec) {
  auto& q = *rx_;
  q.count = q.next = 0;
  q.empty_in = 0;
  for (auto& h : q.headers) h.msg_hdr.msg_controllen = rx_batch::control_size;  // the kernel sets what it used
  int n;
  do n = ::recvmmsg(socket_.native_handle(), q.headers.data(), rx_batch::capacity, MSG_DONTWAIT, nullptr);
  while (n < 0 && errno == EINTR);
  if (n < 0 && errno == ENETDOWN) {
    down_.went_down(peer_);
    ec = asio::error::interrupted;  // read again: frames queued before it went down are still there
    return false;
  }
  if (n <= 0) {
    ec = n < 0 ? error_code(errno, asio::error::get_system_category()) : error_code(asio::error::would_block);
    return false;
  }
  q.count = static_cast<unsigned>(n);
  // The count is the socket's running total: the batch's last frame has the newest.
  if (auto dropped = overflow_watch::count_in(q.headers[q.count - 1].msg_hdr)) overflow_.saw(*dropped, peer_);
  if (q.count < rx_batch::capacity) q.empty_in = read_scope::current();
  return true;
}

std::optional<std::size_t> raw_link::take(asio::mutable_buffer b, message_header& h, const canfd_frame& k,
                                          std::size_t n) {
  if (n != CAN_MTU && n != CANFD_MTU) return std::nullopt;  // not a frame we know
  frame f = from_kernel(&k, n);
  down_.traffic(peer_);
  if (!frames_.delivers(f, peer_, interface_)) return std::nullopt;
  return frame_role::deliver(f, b, h);
}

std::size_t raw_link::try_receive(asio::mutable_buffer b, message_header& h, error_code& ec) {
  // Frames this link does not deliver (other IDs, error and remote frames)
  // are read past; bounded, so a busy bus cannot hold the thread.
  ec = {};
  auto& q = *rx_;
  if (one_thread_ && q.known_empty()) {
    ec = asio::error::would_block;
    return 0;
  }
  for (int skipped = 0; skipped < 64; ++skipped) {
    if (q.next == q.count && !fill(ec)) return 0;
    const unsigned i = q.next++;
    if (auto taken = take(b, h, q.frames[i], q.headers[i].msg_len)) return *taken;
  }
  ec = asio::error::interrupted;  // more may be queued: not would_block (see link.hpp)
  return 0;
}

std::size_t raw_link::build(asio::const_buffer b, const message_header& h, canfd_frame& out, error_code& ec) {
  const frame f = frames_.outgoing(b, h, ec);
  return ec ? 0 : to_kernel(f, out);
}

std::size_t raw_link::try_send(asio::const_buffer b, const message_header& h, error_code& ec) {
  canfd_frame k{};
  ec = {};
  auto mtu = build(b, h, k, ec);
  if (ec) return 0;
  socket_.send(asio::buffer(&k, mtu), 0, ec);
  // A full transmit queue says ENOBUFS: "not now"; the awaited send waits
  // for room (queued_send.hpp).
  if (ec == asio::error::no_buffer_space) ec = asio::error::would_block;
  if (reply_lost_to_down_interface(ec, k, mtu)) return b.size();
  return ec ? 0 : b.size();
}

result<raw::socket> open_raw(const uri& u, const asio::any_io_executor& ex, const raw_config& c,
                             raw_link::role r) {
  raw::socket s(ex);
  error_code ec;
  s.open(raw(), ec);
  if (ec) return socket_error(u, ec, "can-raw");
  auto index = find_interface(u, c.interface_name, c.fd, s.native_handle());
  if (!index) return index.err();

  std::vector<can_filter> kernel_filters;
  if (r != raw_link::role::client) {
    for (const auto& f : c.rx) kernel_filters.push_back({f.inverted ? f.id | CAN_INV_FILTER : f.id, f.mask});
  } else {
    // The client hears only replies: the fixed reply ID, or (offset) every
    // ID a request could map to, which the receive path narrows further.
    if (!c.tx_is_offset)
      kernel_filters.push_back({c.tx_id, (c.tx_id & CAN_EFF_FLAG ? CAN_EFF_MASK : CAN_SFF_MASK) | CAN_EFF_FLAG});
    else
      kernel_filters.push_back({0, 0});
  }
  s.set_option(filters(kernel_filters), ec);
  // Storm-proofing: never receive our own frames as requests (a bridge: never
  // take back what it put on the bus).
  if (!ec) s.set_option(receive_own_messages(0), ec);
  if (!ec && c.fd) s.set_option(fd_frames(1), ec);
  if (!ec && c.errors) s.set_option(error_filter(CAN_ERR_MASK), ec);
  if (!ec) ec = overflow_watch::enable(s.native_handle());
  if (!ec) s.bind(raw::endpoint(*index), ec);
  if (!ec) s.non_blocking(true, ec);
  if (ec) return error{ec, fmt::format("{}: cannot set up the CAN socket: {}", u.text, ec.message())};
  return s;
}

}  // namespace anysock::can
