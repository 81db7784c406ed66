// The security level a Bluetooth link must reach (sec=), the same for every
// Bluetooth family: what pairing the user's device needs decides it.
#pragma once

#include <sys/socket.h>
#include <bluetooth/bluetooth.h>

#include <cstdint>
#include <optional>
#include <string_view>

#include "anysock/socket_option.hpp"

namespace anysock::bluetooth {

// BT_SECURITY: the level the link must reach before data flows. LOW: none
// (no pairing); MEDIUM: paired and encrypted, "Just Works" keys allowed;
// HIGH: a key from authenticated pairing (PIN or passkey: MITM protection);
// FIPS: Secure Connections (P-256, AES-CCM) only. Accepted sockets inherit
// the listener's level.
class security_level : public value_option<SOL_BLUETOOTH, BT_SECURITY, bt_security> {
 public:
  security_level() = default;
  explicit security_level(std::uint8_t level) : value_option(bt_security{level, 0}) {}
  std::uint8_t security() const { return value().level; }
};

// sec=low|medium|high|fips as BT_SECURITY_LOW..FIPS; nullopt for anything else.
inline std::optional<std::uint8_t> parse_security(std::string_view name) {
  static constexpr std::pair<std::string_view, std::uint8_t> levels[] = {
      {"low", BT_SECURITY_LOW}, {"medium", BT_SECURITY_MEDIUM}, {"high", BT_SECURITY_HIGH}, {"fips", BT_SECURITY_FIPS}};
  for (const auto& [text, level] : levels)
    if (name == text) return level;
  return std::nullopt;
}
inline constexpr std::string_view security_levels = "low, medium, high or fips";

}  // namespace anysock::bluetooth
