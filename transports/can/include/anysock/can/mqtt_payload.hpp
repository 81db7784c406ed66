// What one MQTT message of an mqtt:// bus holds. There is no standard
// CAN-over-MQTT format, so this one is small, versioned and documented
// (README, "MQTT"): a 16-byte header and the data, or, for people and home
// automation, the cansend text `123#DEADBEEF`.
//
//   offset  size  field
//   0       1     version: 1
//   1       1     flags: 0x01 CAN FD, 0x02 BRS, 0x04 ESI, 0x08 message (no CAN
//                 header: an ISO-TP message or a stream's chunk)
//   2       1     classic frames: DLC 9..15 sent with 8 bytes (len8_dlc), else 0
//   3       1     remote requests: the length asked for (0..8), else 0
//   4       4     CAN ID, big-endian, with SocketCAN's EFF/RTR/ERR bits (0x80000000,
//                 0x40000000, 0x20000000); 0 for a message
//   8       8     sender's time, microseconds since the Unix epoch, big-endian
//   16      n     data: a frame's 0..64 bytes, a message's 0..4095
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "anysock/can/frame.hpp"
#include "anysock/error.hpp"

namespace anysock::can::mqtt {

inline constexpr std::uint8_t payload_version = 1;
inline constexpr std::size_t header_size = 16;
inline constexpr std::size_t max_message = 4095;  // ISO-TP's classic limit
inline constexpr std::uint8_t flag_fd = 0x01, flag_brs = 0x02, flag_esi = 0x04, flag_message = 0x08;

enum class payload_format { bin, candump };

// One decoded payload: a CAN frame, or a header-less message.
struct payload {
  bool is_message = false;
  frame f;             // when a frame
  std::string bytes;   // when a message
  std::uint64_t micros = 0;
};

std::string encode_frame(const frame& f, std::uint64_t micros);
std::string encode_message(std::string_view bytes, std::uint64_t micros);
// cansend's syntax (format_frame); frames only.
std::string encode_text(const frame& f);

// What another publisher sent, checked as hostile input: a short header, an
// unknown version or flag, a length a frame cannot have. The error says which.
result<payload> decode(std::span<const std::uint8_t> bytes, payload_format format);

}  // namespace anysock::can::mqtt
