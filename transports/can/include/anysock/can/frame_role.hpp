// What a CAN frame link delivers and on which ID it sends, by the role it
// plays; one rule for a local bus (raw_link) and a remote one reached through
// socketcand (socketcand_link), so `serve`, `send` and `bridge` mean the same
// on both.
#pragma once

#include <boost/asio/buffer.hpp>
#include <memory>
#include <string>

#include "anysock/can/config.hpp"
#include "anysock/can/frame.hpp"
#include "anysock/link.hpp"

namespace anysock::can {

// message_header.flags for CAN frames.
inline constexpr std::uint32_t flag_fd = 1u << 0;
inline std::uint32_t encode_flags(const frame& f) {
  return (f.fd ? flag_fd : 0) | std::uint32_t{f.fd_flags} << 8 | std::uint32_t{f.len8_dlc} << 16;
}
inline void decode_flags(std::uint32_t flags, frame& f) {
  f.fd = flags & flag_fd;
  f.fd_flags = static_cast<std::uint8_t>(flags >> 8);
  f.len8_dlc = static_cast<std::uint8_t>(flags >> 16);
}

// responder: answers the requests rx= passes on the ID tx= maps them to.
// client: sends frames as given and hears only the reply to the last one.
// bridge: takes every frame rx= passes (remote requests too) and puts frames
// on the bus with their ID as tx= maps it.
enum class link_role { responder, client, bridge };

class frame_role {
 public:
  frame_role(std::shared_ptr<const raw_config> c, link_role r) : config_(std::move(c)), role_(r) {}

  const raw_config& config() const { return *config_; }
  link_role role() const { return role_; }

  // Whether a received frame is one to deliver; error frames and remote
  // requests an echo cannot answer are logged (naming `peer` and the bus).
  bool delivers(const frame& f, const std::string& peer, const std::string& bus) const;
  // Copies a delivered frame's payload out (cut to the buffer) and its header.
  static std::size_t deliver(const frame& f, asio::mutable_buffer b, message_header& h);

  // The frame to send for a payload and its header: on the mapped reply ID
  // (responder, bridge) or on h.id as given (client, which then expects the
  // reply). unsupported for an FD frame on a link without fd=1,
  // message_size for a payload the frame kind cannot carry.
  frame outgoing(asio::const_buffer b, const message_header& h, error_code& ec);

 private:
  std::shared_ptr<const raw_config> config_;
  link_role role_;
  canid_t expected_ = 0;  // client: the reply ID of the last frame sent
  bool expecting_ = false;
};

}  // namespace anysock::can
