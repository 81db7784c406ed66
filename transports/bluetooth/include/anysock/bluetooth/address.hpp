// Bluetooth device addresses and adapter names as users type them, shared
// by every Bluetooth family (rfcomm://, l2cap://).
#pragma once

#include <sys/socket.h>
#include <bluetooth/bluetooth.h>

#include <cstring>
#include <optional>
#include <string>
#include <string_view>

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

}  // namespace anysock::bluetooth
