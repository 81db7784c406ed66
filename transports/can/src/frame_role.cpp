#include "anysock/can/frame_role.hpp"

#include <algorithm>
#include <cstring>

#include <spdlog/spdlog.h>

#include "anysock/error.hpp"

namespace anysock::can {

bool frame_role::delivers(const frame& f, const std::string& peer, const std::string& bus) const {
  if (f.error()) {
    spdlog::warn("{}: error frame {}", peer, format_candump(f, bus));
    return false;
  }
  if (f.remote() && role_ != link_role::bridge) {
    spdlog::info("{}: remote request {} not answered: an echo answers data frames", peer, format_frame(f));
    return false;
  }
  if (f.fd && !config_->fd) return false;  // a remote bus sends FD frames whether asked or not
  if (role_ != link_role::client) return config_->is_request(f.id);
  return expecting_ && f.id == expected_;  // a client hears only the reply
}

std::size_t frame_role::deliver(const frame& f, asio::mutable_buffer b, message_header& h) {
  const std::size_t len = std::min<std::size_t>(f.len, b.size());
  std::memcpy(b.data(), f.data.data(), len);
  h.id = f.id;
  h.flags = encode_flags(f);
  return len;
}

frame frame_role::outgoing(asio::const_buffer b, const message_header& h, error_code& ec) {
  frame f;
  decode_flags(h.flags, f);
  f.id = role_ == link_role::client ? h.id : config_->reply_id(h.id & ~CAN_RTR_FLAG) | (h.id & CAN_RTR_FLAG);
  if (f.fd && !config_->fd) {  // a bridge's frame from an FD bus
    ec = make_error_code(errc::unsupported);
    return f;
  }
  if (role_ == link_role::client) {
    expected_ = config_->reply_id(h.id);
    expecting_ = true;
  }
  if (b.size() > (f.fd ? CANFD_MAX_DLEN : CAN_MAX_DLEN) || (f.fd && !valid_fd_length(b.size()))) {
    ec = asio::error::message_size;
    return f;
  }
  f.len = static_cast<std::uint8_t>(b.size());
  std::memcpy(f.data.data(), b.data(), b.size());
  return f;
}

}  // namespace anysock::can
