// What an rfcomm:// URI says, read without touching Bluetooth, so a typo is
// one error line before any socket exists (and the unit tests run anywhere).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "anysock/error.hpp"
#include "anysock/bluetooth/address.hpp"
#include "anysock/bluetooth/rfcomm_protocol.hpp"
#include "anysock/uri.hpp"

namespace anysock::rfcomm {

using bluetooth::any_address;
using bluetooth::format_address;
using bluetooth::parse_address;

// A service class UUID for SDP: a 16-bit one (0x1101 is the Serial Port
// Profile) or a full 128-bit one. A 128-bit UUID on the Bluetooth base UUID
// (0000xxxx-0000-1000-8000-00805F9B34FB, how Android names SPP) is kept as
// its 16-bit form, the form SPP records and searches use.
struct service_uuid {
  bool is_short = true;
  std::uint16_t short_value = 0x1101;
  std::array<std::uint8_t, 16> bytes{};  // big-endian, when !is_short
  friend bool operator==(const service_uuid&, const service_uuid&) = default;
};
inline constexpr service_uuid serial_port_uuid{};
std::optional<service_uuid> parse_uuid(std::string_view text);
std::string format_uuid(const service_uuid& u);  // "0x1101" or the 128-bit text

enum class role { listen, connect };

struct endpoint_spec {
  // The authority: a device address, a local adapter name ("hci0"), or any.
  using host_kind = bluetooth::host_kind;
  host_kind kind = host_kind::any;
  bdaddr_t address{};   // kind == address
  std::string adapter;  // kind == adapter
  // 1-30. 0: serve picks the first free channel; send looks it up by SDP.
  std::uint8_t channel = 0;
  std::optional<std::uint8_t> security;   // BT_SECURITY_LOW..FIPS (sec=)
  std::optional<std::uint32_t> link_mode;  // RFCOMM_LM_* bits (lm=)
  service_uuid uuid = serial_port_uuid;    // uuid=: published / searched
  std::optional<std::string> service_name;  // name=: published / required on lookup
  std::string via;  // connect: the local adapter to connect from (adapter=), name or address
};

// Listen: rfcomm://ADDR[:CH], rfcomm://hciN[:CH], rfcomm://any[:CH].
// Connect: rfcomm://ADDR[:CH] only (the adapter to use goes in adapter=).
result<endpoint_spec> parse(const uri& u, role r);

// The name an endpoint is printed under: "rfcomm://00:1A:7D:DA:71:13:5",
// or "rfcomm://any:5" when bound to every adapter.
std::string format_uri(const bdaddr_t& a, std::uint8_t channel);

inline constexpr std::string_view default_service_name = "anysock echo";

}  // namespace anysock::rfcomm
