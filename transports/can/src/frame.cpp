#include "anysock/can/frame.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fmt/format.h>

#include "anysock/log.hpp"

namespace anysock::can {
namespace {

error bad(std::string_view text, std::string_view what) {
  return {make_error_code(errc::bad_option), fmt::format("bad CAN frame '{}': {}", text, what)};
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr std::string_view syntax =
    "write ID#DATA as cansend does: 123#DEADBEEF, 12345678#11.22 (29-bit), 123#R (remote), 123##1DEADBEEF (FD)";

}  // namespace

bool valid_fd_length(std::size_t n) {
  return n <= 8 || n == 12 || n == 16 || n == 20 || n == 24 || n == 32 || n == 48 || n == 64;
}

result<frame> parse_frame(std::string_view text) {
  frame f;
  if (auto c = std::find_if(text.begin(), text.end(), [](unsigned char b) { return b <= 0x20 || b >= 0x7F; });
      c != text.end())
    return error{make_error_code(errc::bad_option),
                 fmt::format("bad CAN frame '{}': byte \\x{:02X} at position {} is not part of the syntax; {}",
                             printable(text), static_cast<unsigned char>(*c), c - text.begin(), syntax)};
  auto hash = text.find('#');
  if (hash == std::string_view::npos) return bad(text, fmt::format("no '#'; {}", syntax));
  auto id_text = text.substr(0, hash);
  if (id_text.size() != 3 && id_text.size() != 8)
    return bad(text, fmt::format("the ID '{}' must be 3 hex digits (11-bit) or 8 (29-bit); {}", id_text, syntax));
  canid_t id = 0;
  for (char c : id_text) {
    int v = hex(c);
    if (v < 0) return bad(text, fmt::format("the ID '{}' is not hexadecimal", id_text));
    id = id << 4 | static_cast<canid_t>(v);
  }
  if (id_text.size() == 3) {
    if (id > CAN_SFF_MASK) return bad(text, fmt::format("11-bit IDs go up to 7FF; write {:08X} for a 29-bit ID", id));
    f.id = id;
  } else {
    if (id & CAN_ERR_FLAG) {
      f.id = id & (CAN_ERR_FLAG | CAN_ERR_MASK);  // error frames are typed as candump prints them
    } else {
      if (id > CAN_EFF_MASK) return bad(text, "29-bit IDs go up to 1FFFFFFF");
      f.id = id | CAN_EFF_FLAG;
    }
  }

  auto rest = text.substr(hash + 1);
  std::size_t max = CAN_MAX_DLEN;
  if (!rest.empty() && rest.front() == '#') {  // CAN FD: ##<flags nibble><data>
    if (rest.size() < 2) return bad(text, "'##' must be followed by a flags digit (0-F), then the data");
    int flags = hex(rest[1]);
    if (flags < 0) return bad(text, fmt::format("FD flags '{}' must be one hex digit (1 = BRS, 2 = ESI)", rest[1]));
    f.fd = true;
    f.fd_flags = static_cast<std::uint8_t>(flags & (CANFD_BRS | CANFD_ESI));
    rest = rest.substr(2);
    max = CANFD_MAX_DLEN;
  } else if (!rest.empty() && (rest.front() == 'R' || rest.front() == 'r')) {
    f.id |= CAN_RTR_FLAG;
    if (rest.size() == 4 && rest[1] == '8' && rest[2] == '_') {  // ID#R8_D: a DLC of 9..15
      if (hex(rest[3]) < 9) return bad(text, "'_D' after R8 is a DLC of 9-F");
      f.len = 8;
      f.len8_dlc = static_cast<std::uint8_t>(hex(rest[3]));
      return f;
    }
    if (rest.size() > 2) return bad(text, "a remote request is ID#R, ID#R<length 0-8> or ID#R8_<DLC 9-F>");
    if (rest.size() == 2) {
      int len = hex(rest[1]);
      if (len < 0 || len > 8) return bad(text, "a remote request's length is one digit, 0-8");
      f.len = static_cast<std::uint8_t>(len);
    }
    return f;
  }

  std::size_t n = 0;
  for (std::size_t i = 0; i < rest.size();) {
    if (rest[i] == '.') {
      ++i;
      continue;
    }
    if (rest[i] == '_' && !f.fd) {  // len8_dlc: 8 bytes sent with a DLC of 9..15
      if (n != 8 || i + 2 != rest.size() || hex(rest[i + 1]) < 9)
        return bad(text, "'_D' (a DLC of 9-F) may only follow exactly 8 data bytes");
      f.len8_dlc = static_cast<std::uint8_t>(hex(rest[i + 1]));
      break;
    }
    if (i + 1 >= rest.size() || hex(rest[i]) < 0 || hex(rest[i + 1]) < 0)
      return bad(text, fmt::format("data must be pairs of hex digits (dots between bytes are allowed); {}", syntax));
    if (n == max)
      return bad(text, f.fd ? "a CAN FD frame carries at most 64 bytes"
                            : "a classic CAN frame carries at most 8 bytes; use ID##1DATA for CAN FD");
    f.data[n++] = static_cast<std::uint8_t>(hex(rest[i]) << 4 | hex(rest[i + 1]));
    i += 2;
  }
  if (f.fd && !valid_fd_length(n))
    return bad(text, fmt::format("CAN FD frames carry 0-8, 12, 16, 20, 24, 32, 48 or 64 bytes, not {}; pad the data", n));
  f.len = static_cast<std::uint8_t>(n);
  return f;
}

std::string format_frame(const frame& f) {
  std::string out = f.extended() || f.error() ? fmt::format("{:08X}", f.id & (f.error() ? (CAN_ERR_FLAG | CAN_ERR_MASK) : CAN_EFF_MASK))
                                               : fmt::format("{:03X}", f.ident());
  out += '#';
  if (f.remote()) {
    out += 'R';
    if (f.len) out += static_cast<char>('0' + f.len);
    if (f.len8_dlc) out += fmt::format("_{:X}", f.len8_dlc);
    return out;
  }
  if (f.fd) out += fmt::format("#{:X}", f.fd_flags);
  for (std::size_t i = 0; i < f.len; ++i) out += fmt::format("{:02X}", f.data[i]);
  if (f.len8_dlc) out += fmt::format("_{:X}", f.len8_dlc);
  return out;
}

std::string format_candump(const frame& f, std::string_view interface_name) {
  std::string out = fmt::format("  {}  ", interface_name);
  if (f.extended() || f.error())
    out += fmt::format("{:08X}", f.id & (f.error() ? (CAN_ERR_FLAG | CAN_ERR_MASK) : CAN_EFF_MASK));
  else
    out += fmt::format("{:03X}", f.ident());
  if (f.fd)
    out += fmt::format("  [{:02}]", f.len);
  else if (f.len8_dlc)
    out += fmt::format("   [{:X}]", f.len8_dlc);
  else
    out += fmt::format("   [{}]", f.len);
  if (f.remote()) return out + "  remote request";
  if (f.len) out += " ";
  for (std::size_t i = 0; i < f.len; ++i) out += fmt::format(" {:02X}", f.data[i]);
  return out;
}

frame from_kernel(const void* bytes, std::size_t size) {
  frame f;
  canfd_frame k{};
  std::memcpy(&k, bytes, std::min(size, sizeof k));
  f.id = k.can_id;
  f.fd = size == CANFD_MTU;
  f.len = std::min<std::uint8_t>(k.len, f.fd ? CANFD_MAX_DLEN : CAN_MAX_DLEN);
  if (f.fd) {
    f.fd_flags = static_cast<std::uint8_t>(k.flags & (CANFD_BRS | CANFD_ESI));
  } else {
    can_frame c{};
    std::memcpy(&c, bytes, sizeof c);
    if (c.len == CAN_MAX_DLEN && c.len8_dlc > CAN_MAX_DLEN && c.len8_dlc <= 15) f.len8_dlc = c.len8_dlc;
  }
  if (!f.remote()) std::memcpy(f.data.data(), k.data, f.len);
  return f;
}

std::size_t to_kernel(const frame& f, canfd_frame& out) {
  out = {};
  out.can_id = f.id;
  out.len = f.len;
  std::memcpy(out.data, f.data.data(), f.len);
  if (f.fd) {
    out.flags = static_cast<std::uint8_t>(f.fd_flags | CANFD_FDF);
    return CANFD_MTU;
  }
  can_frame c{};
  std::memcpy(&c, &out, sizeof c);
  c.len8_dlc = f.len8_dlc;
  std::memcpy(&out, &c, sizeof c);
  return CAN_MTU;
}

}  // namespace anysock::can
