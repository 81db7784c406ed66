#include "anysock/can/mqtt_payload.hpp"

#include <fmt/format.h>

#include <cstring>

namespace anysock::can::mqtt {
namespace {

void put_be(std::string& out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

std::uint64_t get_be(std::span<const std::uint8_t> b, std::size_t at, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = v << 8 | b[at + i];
  return v;
}

std::string header(std::uint8_t flags, std::uint8_t len8_dlc, std::uint8_t remote_len, canid_t id,
                   std::uint64_t micros) {
  std::string out;
  out.reserve(header_size + CANFD_MAX_DLEN);
  out.push_back(static_cast<char>(payload_version));
  out.push_back(static_cast<char>(flags));
  out.push_back(static_cast<char>(len8_dlc));
  out.push_back(static_cast<char>(remote_len));
  put_be(out, id, 4);
  put_be(out, micros, 8);
  return out;
}

error bad(std::string what) { return {make_error_code(errc::bad_option), std::move(what)}; }

}  // namespace

std::string encode_frame(const frame& f, std::uint64_t micros) {
  std::uint8_t flags = 0;
  if (f.fd) {
    flags |= flag_fd;
    if (f.fd_flags & CANFD_BRS) flags |= flag_brs;
    if (f.fd_flags & CANFD_ESI) flags |= flag_esi;
  }
  const bool remote = f.remote();
  std::string out = header(flags, f.fd ? 0 : f.len8_dlc, remote ? f.len : 0, f.id, micros);
  if (!remote) out.append(reinterpret_cast<const char*>(f.data.data()), f.len);
  return out;
}

std::string encode_message(std::string_view bytes, std::uint64_t micros) {
  std::string out = header(flag_message, 0, 0, 0, micros);
  out.append(bytes);
  return out;
}

std::string encode_text(const frame& f) { return format_frame(f); }

result<payload> decode(std::span<const std::uint8_t> b, payload_format format) {
  payload p;
  if (format == payload_format::candump) {
    std::string_view text(reinterpret_cast<const char*>(b.data()), b.size());
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.remove_suffix(1);
    auto f = parse_frame(text);
    if (!f) return f.err();
    p.f = *f;
    return p;
  }
  if (b.size() < header_size)
    return bad(fmt::format("{} bytes, shorter than the {}-byte header (format=bin)", b.size(), header_size));
  if (b[0] != payload_version)
    return bad(fmt::format("payload version {}, this build reads version {}", b[0], payload_version));
  const std::uint8_t flags = b[1];
  if (flags & ~(flag_fd | flag_brs | flag_esi | flag_message))
    return bad(fmt::format("unknown flags 0x{:02X}", flags));
  const std::size_t n = b.size() - header_size;
  const canid_t id = static_cast<canid_t>(get_be(b, 4, 4));
  p.micros = get_be(b, 8, 8);
  if (flags & flag_message) {
    if (flags != flag_message || b[2] || b[3] || id)
      return bad("a message (flag 0x08) with CAN frame fields set");
    if (n > max_message) return bad(fmt::format("a {}-byte message; at most {}", n, max_message));
    p.is_message = true;
    p.bytes.assign(reinterpret_cast<const char*>(b.data() + header_size), n);
    return p;
  }
  frame& f = p.f;
  f.id = id;
  f.fd = flags & flag_fd;
  if (!f.fd && (flags & (flag_brs | flag_esi))) return bad("BRS or ESI set on a classic frame");
  if (f.fd) f.fd_flags = static_cast<std::uint8_t>((flags & flag_brs ? CANFD_BRS : 0) | (flags & flag_esi ? CANFD_ESI : 0));
  if ((id & CAN_EFF_FLAG) == 0 && (id & CAN_EFF_MASK) > CAN_SFF_MASK)
    return bad(fmt::format("ID 0x{:X} is over 7FF without the extended flag", id & CAN_EFF_MASK));
  if (f.remote()) {
    if (f.fd) return bad("a remote request cannot be a CAN FD frame");
    if (n != 0 || b[3] > CAN_MAX_DLEN || b[2] != 0)
      return bad("a remote request carries no data, no DLC 9..15, and asks for 0..8 bytes");
    f.len = b[3];
    return p;
  }
  if (b[3] != 0) return bad("a remote length on a data frame");
  if (f.fd ? !valid_fd_length(n) : n > CAN_MAX_DLEN)
    return bad(fmt::format("{} data bytes; a {} frame carries {}", n, f.fd ? "CAN FD" : "classic",
                           f.fd ? "0..8, 12, 16, 20, 24, 32, 48 or 64" : "0..8"));
  if (b[2] != 0 && (f.fd || n != CAN_MAX_DLEN || b[2] < 9 || b[2] > 15))
    return bad("DLC 9..15 (byte 2) is for a classic frame of 8 bytes");
  f.len8_dlc = b[2];
  f.len = static_cast<std::uint8_t>(n);
  std::memcpy(f.data.data(), b.data() + header_size, n);
  return p;
}

}  // namespace anysock::can::mqtt
