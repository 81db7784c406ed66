// SocketCAN the Asio way: small protocol classes and one endpoint type, so
// Asio's own basic_raw_socket and basic_datagram_socket do the I/O.
#pragma once

#include <linux/can.h>
#include <linux/can/isotp.h>
#include <linux/can/raw.h>
#include <sys/socket.h>

#include <boost/asio/basic_datagram_socket.hpp>
#include <boost/asio/basic_raw_socket.hpp>
#include <cstring>
#include <vector>

#include "anysock/socket_option.hpp"

namespace anysock::can {

template <class Protocol>
class basic_endpoint {
 public:
  using protocol_type = Protocol;
  using data_type = sockaddr;

  basic_endpoint() { addr_.can_family = AF_CAN; }
  explicit basic_endpoint(int ifindex) : basic_endpoint() { addr_.can_ifindex = ifindex; }
  // ISO-TP: the socket receives on rx_id and sends on tx_id.
  basic_endpoint(int ifindex, canid_t rx_id, canid_t tx_id) : basic_endpoint(ifindex) {
    addr_.can_addr.tp.rx_id = rx_id;
    addr_.can_addr.tp.tx_id = tx_id;
  }

  protocol_type protocol() const { return protocol_type(); }
  data_type* data() { return reinterpret_cast<data_type*>(&addr_); }
  const data_type* data() const { return reinterpret_cast<const data_type*>(&addr_); }
  std::size_t size() const { return sizeof addr_; }
  void resize(std::size_t) {}
  std::size_t capacity() const { return sizeof addr_; }
  int interface_index() const { return addr_.can_ifindex; }
  friend bool operator==(const basic_endpoint& a, const basic_endpoint& b) {
    return std::memcmp(&a.addr_, &b.addr_, sizeof a.addr_) == 0;
  }

 private:
  sockaddr_can addr_{};
};

// CAN_RAW: every frame on the interface that passes the socket's filters.
class raw {
 public:
  using endpoint = basic_endpoint<raw>;
  using socket = boost::asio::basic_raw_socket<raw>;
  int family() const { return PF_CAN; }
  int type() const { return SOCK_RAW; }
  int protocol() const { return CAN_RAW; }
};

// CAN_ISOTP (ISO 15765-2): messages up to 4095 bytes (more with FD) between
// an rx/tx ID pair; the kernel does the segmentation and flow control.
class isotp {
 public:
  using endpoint = basic_endpoint<isotp>;
  using socket = boost::asio::basic_datagram_socket<isotp>;
  int family() const { return PF_CAN; }
  int type() const { return SOCK_DGRAM; }
  int protocol() const { return CAN_ISOTP; }
};

// CAN_BCM: the kernel's broadcast manager. Cyclic sends and content filters
// run in the kernel, set up and reported with bcm_msg_head messages.
class bcm {
 public:
  using endpoint = basic_endpoint<bcm>;
  using socket = boost::asio::basic_datagram_socket<bcm>;
  int family() const { return PF_CAN; }
  int type() const { return SOCK_DGRAM; }
  int protocol() const { return CAN_BCM; }
};

// Socket options in Asio's SettableSocketOption shape.
using anysock::value_option;

using fd_frames = value_option<SOL_CAN_RAW, CAN_RAW_FD_FRAMES, int>;
using receive_own_messages = value_option<SOL_CAN_RAW, CAN_RAW_RECV_OWN_MSGS, int>;
using loopback = value_option<SOL_CAN_RAW, CAN_RAW_LOOPBACK, int>;
using error_filter = value_option<SOL_CAN_RAW, CAN_RAW_ERR_FILTER, can_err_mask_t>;
using join_filters = value_option<SOL_CAN_RAW, CAN_RAW_JOIN_FILTERS, int>;
using isotp_options = value_option<SOL_CAN_ISOTP, CAN_ISOTP_OPTS, can_isotp_options>;
using isotp_flow_control = value_option<SOL_CAN_ISOTP, CAN_ISOTP_RECV_FC, can_isotp_fc_options>;
using isotp_link_layer = value_option<SOL_CAN_ISOTP, CAN_ISOTP_LL_OPTS, can_isotp_ll_options>;

// CAN_RAW_FILTER: a list of id/mask pairs (CAN_INV_FILTER in the id inverts one).
class filters {
 public:
  filters() = default;
  explicit filters(std::vector<can_filter> f) : f_(std::move(f)) {}
  template <class P> int level(const P&) const { return SOL_CAN_RAW; }
  template <class P> int name(const P&) const { return CAN_RAW_FILTER; }
  template <class P> const void* data(const P&) const { return f_.data(); }
  template <class P> std::size_t size(const P&) const { return f_.size() * sizeof(can_filter); }
  const std::vector<can_filter>& list() const { return f_; }

 private:
  std::vector<can_filter> f_;
};

}  // namespace anysock::can
