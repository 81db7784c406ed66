// What a can:// or isotp:// URI asks for, checked before any socket exists:
// ID syntax and range, and that a responder can never answer itself.
#pragma once

#include <linux/can.h>

#include <cstdint>
#include <string>
#include <vector>

#include "anysock/uri.hpp"

namespace anysock::can {

// One CAN_RAW filter: a frame passes when (frame_id & mask) == (id & mask),
// or the opposite when inverted. IDs carry CAN_EFF_FLAG for 29-bit ones.
struct id_filter {
  canid_t id = 0;
  canid_t mask = 0;
  bool inverted = false;
  bool matches(canid_t frame_id) const {
    bool m = ((frame_id ^ id) & mask) == 0;
    return inverted ? !m : m;
  }
};

// Hex ID as can-utils writes it: up to 3 digits and <= 7FF is 11-bit, 8
// digits or > 7FF is 29-bit (returned with CAN_EFF_FLAG).
result<canid_t> parse_id(const uri& u, std::string_view key, std::string_view text);

// The raw responder's mapping from request to reply.
struct raw_config {
  std::string interface_name;
  std::vector<id_filter> rx;  // requests answered
  bool tx_is_offset = false;
  canid_t tx_id = 0;          // fixed reply ID (with CAN_EFF_FLAG if 29-bit)
  std::int64_t tx_offset = 0; // or: reply ID = request ID + offset
  bool fd = false;            // accept and send CAN FD frames
  bool errors = false;        // receive (and log) error frames

  // The reply ID for a request (flags of the request kept: EFF stays EFF).
  canid_t reply_id(canid_t request) const;
  bool is_request(canid_t frame_id) const;
};

// Defaults: rx=7E0, tx=7E8 — the OBD-II diagnostic request/response pair.
// Two responders with these on one bus each answer a request once on 7E8
// and never hear 7E8 as a request: no ping-pong, no cascade.
result<raw_config> parse_raw(const uri& u);

// The same URI as one side of a bridge: rx= says which frames are taken from
// the bus (default: every frame), tx= how the IDs of frames put on it are
// mapped (tx=+OFF; a fixed tx=ID sends every frame on that ID; default: IDs
// kept).
result<raw_config> parse_raw_bridge(const uri& u);

// Refuses a configuration in which a reply could match the request filter.
result<void> check_storm_safe(const uri& u, const raw_config& c);

struct isotp_config {
  std::string interface_name;
  canid_t rx_id = 0x7E0;  // this socket receives on rx and sends on tx
  canid_t tx_id = 0x7E8;
  bool fd = false;
  int padding = -1;       // pad frames with this byte (0-255), or -1 for none
  std::uint8_t block_size = 0;
  std::uint8_t stmin = 0;
  int ext_address = -1;   // extended addressing byte, or -1
};
result<isotp_config> parse_isotp(const uri& u);

}  // namespace anysock::can
