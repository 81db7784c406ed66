// Bluetooth L2CAP channels the Asio way: a protocol class and an endpoint
// (struct sockaddr_l2), so Asio's basic_seq_packet_socket and
// basic_socket_acceptor do the I/O. SOCK_SEQPACKET: one SDU is one message.
#pragma once

#include <sys/socket.h>
#include <bluetooth/bluetooth.h>
#include <bluetooth/l2cap.h>

#include <boost/asio/basic_seq_packet_socket.hpp>
#include <boost/asio/basic_socket_acceptor.hpp>
#include <cstdint>

#include "anysock/bluetooth/address.hpp"
#include "anysock/bluetooth/security.hpp"
#include "anysock/socket_option.hpp"

namespace anysock::l2cap {

// How a device address is reached: BR/EDR (classic, paged), or LE with a
// public or a random address (advertising, credit-based channels).
enum class address_type : std::uint8_t {
  bredr = BDADDR_BREDR,
  le_public = BDADDR_LE_PUBLIC,
  le_random = BDADDR_LE_RANDOM,
};
inline bool is_le(address_type t) { return t != address_type::bredr; }

class l2cap;

// A device address, its type and a PSM: struct sockaddr_l2 (PSM stored
// little-endian, as the kernel wants it).
class endpoint {
 public:
  using protocol_type = l2cap;
  using data_type = sockaddr;

  endpoint() { addr_.l2_family = AF_BLUETOOTH; }
  endpoint(const bdaddr_t& address, std::uint16_t psm, address_type type) : endpoint() {
    addr_.l2_bdaddr = address;
    addr_.l2_psm = htobs(psm);
    addr_.l2_bdaddr_type = static_cast<std::uint8_t>(type);
  }

  protocol_type protocol() const;
  data_type* data() { return reinterpret_cast<data_type*>(&addr_); }
  const data_type* data() const { return reinterpret_cast<const data_type*>(&addr_); }
  std::size_t size() const { return sizeof addr_; }
  void resize(std::size_t) {}  // the kernel never writes more than sockaddr_l2
  std::size_t capacity() const { return sizeof addr_; }

  const bdaddr_t& address() const { return addr_.l2_bdaddr; }
  std::uint16_t psm() const { return btohs(addr_.l2_psm); }
  address_type type() const { return static_cast<address_type>(addr_.l2_bdaddr_type); }
  friend bool operator==(const endpoint& a, const endpoint& b) {
    return a.address() == b.address() && a.psm() == b.psm() && a.type() == b.type();
  }

 private:
  sockaddr_l2 addr_{};
};

// AF_BLUETOOTH, SOCK_SEQPACKET, BTPROTO_L2CAP: a connection-oriented channel
// that keeps message boundaries (BR/EDR basic, ERTM or streaming mode; LE
// credit-based flow control).
class l2cap {
 public:
  using endpoint = anysock::l2cap::endpoint;
  using socket = boost::asio::basic_seq_packet_socket<l2cap>;
  using acceptor = boost::asio::basic_socket_acceptor<l2cap>;
  int family() const { return AF_BLUETOOTH; }
  int type() const { return SOCK_SEQPACKET; }
  int protocol() const { return BTPROTO_L2CAP; }
  friend bool operator==(const l2cap&, const l2cap&) { return true; }
};

inline l2cap endpoint::protocol() const { return l2cap(); }

using bluetooth::security_level;

// L2CAP_OPTIONS (BR/EDR): the MTUs and the mode; set before connect or
// listen, read back once connected for what was negotiated.
using options = value_option<SOL_L2CAP, L2CAP_OPTIONS, l2cap_options>;
// BT_RCVMTU (LE): the largest SDU this side accepts, set before connect or
// listen; BT_SNDMTU (LE): the peer's, readable once connected.
using receive_mtu = value_option<SOL_BLUETOOTH, BT_RCVMTU, std::uint16_t>;
using send_mtu = value_option<SOL_BLUETOOTH, BT_SNDMTU, std::uint16_t>;

// PSMs: BR/EDR ones are odd with bit 8 clear (0x0001, 0x1001, 0x1003...),
// dynamic from 0x1001; LE ones are 0x01-0xFF, dynamic from 0x80.
inline constexpr std::uint16_t bredr_dynamic_psm = 0x1001;
inline constexpr std::uint16_t le_dynamic_psm = 0x80;
inline constexpr std::uint16_t le_max_psm = 0xFF;
inline bool valid_bredr_psm(std::uint32_t psm) { return psm <= 0xFFFF && (psm & 0x0101) == 0x0001; }

}  // namespace anysock::l2cap
