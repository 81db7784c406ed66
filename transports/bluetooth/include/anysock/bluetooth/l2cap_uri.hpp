// What an l2cap:// URI says, read without touching Bluetooth, so a typo is
// one error line before any socket exists (and the unit tests run anywhere).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "anysock/bluetooth/l2cap_protocol.hpp"
#include "anysock/error.hpp"
#include "anysock/uri.hpp"

namespace anysock::l2cap {

enum class role { listen, connect };

// The BR/EDR channel modes L2CAP_OPTIONS offers (LE has one: credit-based).
enum class channel_mode : std::uint8_t {
  basic = L2CAP_MODE_BASIC,
  ertm = L2CAP_MODE_ERTM,
  streaming = L2CAP_MODE_STREAMING,
};
std::string_view describe(channel_mode m);

// The smallest MTUs the specification allows: what every device accepts.
inline constexpr std::uint16_t bredr_min_mtu = 48;
inline constexpr std::uint16_t le_min_mtu = 23;
// The kernel's default receive MTU on both (L2CAP_DEFAULT_MTU).
inline constexpr std::uint16_t default_mtu = 672;

struct endpoint_spec {
  // The authority: a device address, a local adapter name ("hci0"), or any.
  using host_kind = bluetooth::host_kind;
  host_kind kind = host_kind::any;
  bdaddr_t address{};   // kind == address
  std::string adapter;  // kind == adapter
  std::uint16_t psm = 0;  // 0: serve picks the first free one
  address_type type = address_type::bredr;  // le=
  std::optional<std::uint16_t> imtu;        // imtu=: the largest SDU we take
  std::optional<std::uint16_t> omtu;        // omtu=: the largest we send (BR/EDR)
  std::optional<std::uint8_t> security;     // sec=
  std::optional<channel_mode> mode;         // mode= (BR/EDR)
  std::string via;  // connect: the local adapter to connect from (adapter=)
};

// Listen: l2cap://hciN[:PSM], l2cap://ADDR[:PSM], l2cap://any[:PSM].
// Connect: l2cap://ADDR:PSM (the adapter to use goes in adapter=).
result<endpoint_spec> parse(const uri& u, role r);

// The name an endpoint is printed under: "l2cap://00:1A:7D:DA:71:13:0x1001",
// "l2cap://any:0x80?le=1".
std::string format_uri(const bdaddr_t& a, std::uint16_t psm, address_type t);

}  // namespace anysock::l2cap
