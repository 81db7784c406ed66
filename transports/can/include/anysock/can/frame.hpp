// CAN frames as people type and read them: can-utils' text syntax
// (cansend's `123#DEADBEEF`) in, candump's line format out.
#pragma once

#include <linux/can.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "anysock/error.hpp"

namespace anysock::can {

struct frame {
  canid_t id = 0;        // with CAN_EFF_FLAG / CAN_RTR_FLAG / CAN_ERR_FLAG as the kernel has them
  std::uint8_t len = 0;  // payload bytes (classic 0..8, FD up to 64)
  bool fd = false;       // a CAN FD frame
  std::uint8_t fd_flags = 0;   // CANFD_BRS, CANFD_ESI (FD only)
  std::uint8_t len8_dlc = 0;   // classic only: DLC 9..15 sent with 8 bytes, or 0
  std::array<std::uint8_t, CANFD_MAX_DLEN> data{};

  bool extended() const { return (id & CAN_EFF_FLAG) != 0; }
  bool remote() const { return (id & CAN_RTR_FLAG) != 0; }
  bool error() const { return (id & CAN_ERR_FLAG) != 0; }
  // The identifier without flag bits.
  canid_t ident() const { return id & (extended() ? CAN_EFF_MASK : CAN_SFF_MASK); }
};

// The payload lengths a CAN FD frame can carry.
bool valid_fd_length(std::size_t n);

// can-utils syntax: `123#11.22.33`, `12345678#DEAD` (8 hex digits: 29-bit),
// `123#R` / `123#R3` (remote request), `123#1122334455667788_E` (len8_dlc),
// `123##1DEADBEEF` (CAN FD; the digit is the flags: 1 BRS, 2 ESI).
result<frame> parse_frame(std::string_view text);

// The same syntax back: parse_frame(format_frame(f)) == f.
std::string format_frame(const frame& f);

// candump's default line: `  vcan0  123   [4]  DE AD BE EF`.
std::string format_candump(const frame& f, std::string_view interface_name);

// Kernel structures <-> frame. `bytes` is what a CAN_RAW read returned
// (CAN_MTU or CANFD_MTU).
frame from_kernel(const void* bytes, std::size_t size);
std::size_t to_kernel(const frame& f, canfd_frame& out);  // returns CAN_MTU or CANFD_MTU

}  // namespace anysock::can
