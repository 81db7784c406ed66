// Bluetooth RFCOMM the Asio way: a protocol class and an endpoint type, so
// Asio's own basic_stream_socket and basic_socket_acceptor do the I/O, like
// asio::ip::tcp does for TCP.
#pragma once

#include <sys/socket.h>
#include <bluetooth/bluetooth.h>
#include <bluetooth/rfcomm.h>

#include <boost/asio/basic_socket_acceptor.hpp>
#include <boost/asio/basic_stream_socket.hpp>
#include <cstdint>

#include "anysock/bluetooth/address.hpp"
#include "anysock/bluetooth/security.hpp"
#include "anysock/socket_option.hpp"

namespace anysock::rfcomm {

// RFCOMM channels (server channels) are 1-30; 0 in a bind means "pick a free
// one at listen()".
inline constexpr int max_channel = 30;

class rfcomm;

// A device address and a channel: struct sockaddr_rc.
class endpoint {
 public:
  using protocol_type = rfcomm;
  using data_type = sockaddr;

  endpoint() { addr_.rc_family = AF_BLUETOOTH; }
  endpoint(const bdaddr_t& address, std::uint8_t channel) : endpoint() {
    addr_.rc_bdaddr = address;
    addr_.rc_channel = channel;
  }

  protocol_type protocol() const;
  data_type* data() { return reinterpret_cast<data_type*>(&addr_); }
  const data_type* data() const { return reinterpret_cast<const data_type*>(&addr_); }
  std::size_t size() const { return sizeof addr_; }
  // getsockname/getpeername fill at most sizeof(sockaddr_rc); Asio then
  // resizes to what the kernel wrote, which never exceeds the capacity.
  void resize(std::size_t) {}
  std::size_t capacity() const { return sizeof addr_; }

  const bdaddr_t& address() const { return addr_.rc_bdaddr; }
  std::uint8_t channel() const { return addr_.rc_channel; }
  friend bool operator==(const endpoint& a, const endpoint& b) {
    return a.address() == b.address() && a.channel() == b.channel();
  }

 private:
  sockaddr_rc addr_{};
};

// AF_BLUETOOTH, SOCK_STREAM, BTPROTO_RFCOMM: a reliable byte stream over a
// serial-port emulation (what SPP modules and phone terminal apps speak).
class rfcomm {
 public:
  using endpoint = anysock::rfcomm::endpoint;
  using socket = boost::asio::basic_stream_socket<rfcomm>;
  using acceptor = boost::asio::basic_socket_acceptor<rfcomm>;
  int family() const { return AF_BLUETOOTH; }
  int type() const { return SOCK_STREAM; }
  int protocol() const { return BTPROTO_RFCOMM; }
  friend bool operator==(const rfcomm&, const rfcomm&) { return true; }
};

inline rfcomm endpoint::protocol() const { return rfcomm(); }

// Socket options in Asio's GettableSocketOption/SettableSocketOption shape.
using anysock::value_option;

using bluetooth::security_level;

// RFCOMM_LM: the older link-mode bit set (RFCOMM_LM_MASTER, _AUTH, _ENCRYPT,
// _TRUSTED, _RELIABLE, _SECURE); the kernel maps the security bits onto the
// same level BT_SECURITY sets, and MASTER asks for a role switch on accept.
using link_mode = value_option<SOL_RFCOMM, RFCOMM_LM, std::uint32_t>;

}  // namespace anysock::rfcomm
