#include "anysock/bluetooth/address.hpp"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>

namespace anysock::bluetooth {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

std::optional<bdaddr_t> parse_address(std::string_view text) {
  if (text.size() != 17) return std::nullopt;
  bdaddr_t a{};
  for (int i = 0; i < 6; ++i) {
    const char* p = text.data() + i * 3;
    int hi = hex_digit(p[0]), lo = hex_digit(p[1]);
    if (hi < 0 || lo < 0 || (i < 5 && p[2] != ':')) return std::nullopt;
    a.b[5 - i] = static_cast<std::uint8_t>(hi * 16 + lo);  // BlueZ stores it little-endian
  }
  return a;
}

std::string format_address(const bdaddr_t& a) {
  return fmt::format("{:02X}:{:02X}:{:02X}:{:02X}:{:02X}:{:02X}", a.b[5], a.b[4], a.b[3], a.b[2], a.b[1], a.b[0]);
}

bool is_adapter_name(std::string_view s) {
  return s.size() > 3 && s.substr(0, 3) == "hci" &&
         std::all_of(s.begin() + 3, s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

result<host_spec> parse_host(const uri& u, std::string_view host, bool looks_like_address, bool connecting,
                             std::string_view client_example, std::string_view server_example) {
  auto bad = [&](std::string what) {
    return error{make_error_code(errc::bad_uri), fmt::format("bad URI '{}': {}", u.text, what)};
  };
  host_spec h;
  if (looks_like_address) {
    auto a = parse_address(host);
    if (!a)
      return bad(fmt::format("'{}' is not a Bluetooth address: six two-digit hex bytes, e.g. 00:1A:7D:DA:71:13 "
                             "(bluetoothctl devices, or hcitool scan, lists them)", host));
    h.kind = host_kind::address;
    h.address = *a;
  } else if (connecting) {
    return bad(is_adapter_name(host) || host == "any"
                   ? fmt::format("a client connects to a device address, e.g. {}; '{}' names local adapters "
                                 "(choose the one to connect from with ?adapter=hci0)", client_example, host)
                   : fmt::format("'{}' is not a Bluetooth address: six two-digit hex bytes, e.g. {}", host,
                                 client_example));
  } else if (host == "any" || host.empty()) {
    h.kind = host_kind::any;
  } else if (is_adapter_name(host)) {
    h.kind = host_kind::adapter;
    h.adapter = std::string(host);
  } else {
    return bad(fmt::format("'{}' is neither a local adapter (hci0), an adapter's address (00:1A:7D:DA:71:13) nor "
                           "any; write e.g. {}", host, server_example));
  }
  return h;
}

}  // namespace anysock::bluetooth
