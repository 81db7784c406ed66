// Bluetooth device addresses and adapter names as users type them, shared
// by every Bluetooth family (rfcomm://, l2cap://).
#pragma once

#include <sys/socket.h>
#include <bluetooth/bluetooth.h>

#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "anysock/error.hpp"
#include "anysock/uri.hpp"

// bdaddr_t is BlueZ's C struct in the global namespace; its == lives there
// too, so every namespace (and EXPECT_EQ) finds it.
inline bool operator==(const bdaddr_t& a, const bdaddr_t& b) { return std::memcmp(&a, &b, sizeof a) == 0; }

namespace anysock::bluetooth {

// BlueZ's BDADDR_ANY / BDADDR_LOCAL are C compound literals, which C++ cannot
// take the address of; these are the same values.
inline constexpr bdaddr_t any_address{};
inline constexpr bdaddr_t local_address{{0, 0, 0, 0xff, 0xff, 0xff}};

// "00:1A:7D:DA:71:13" exactly: six two-digit hex bytes. BlueZ's str2ba
// accepts nearly anything (it reads "1:2" as 00:00:00:00:02:01), so this
// checks the shape itself.
std::optional<bdaddr_t> parse_address(std::string_view text);
// Upper-case "00:1A:7D:DA:71:13", as hciconfig and bluetoothctl print it.
std::string format_address(const bdaddr_t& a);
// "hci0", "hci12": a local adapter's name.
bool is_adapter_name(std::string_view s);

// The device part of a URI's authority: a device address, a local adapter
// ("hci0") or any adapter ("any" or nothing).
enum class host_kind { address, adapter, any };
struct host_spec {
  host_kind kind = host_kind::any;
  bdaddr_t address{};   // kind == address
  std::string adapter;  // kind == adapter
};
// `looks_like_address`: the authority had an address's five colons. A
// client (`connecting`) must name a device address; the examples go into
// the error line.
result<host_spec> parse_host(const uri& u, std::string_view host, bool looks_like_address, bool connecting,
                             std::string_view client_example, std::string_view server_example);

}  // namespace anysock::bluetooth
