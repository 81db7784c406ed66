#include "anysock/bluetooth/l2cap_uri.hpp"

#include <algorithm>
#include <charconv>
#include <fmt/format.h>
#include <vector>

namespace anysock::l2cap {
namespace {

using bluetooth::is_adapter_name;
using bluetooth::parse_address;

constexpr std::string_view client_example = "l2cap://00:1A:7D:DA:71:13:0x1001";
constexpr std::string_view server_example = "l2cap://hci0:0x1001";
constexpr std::string_view le_server_example = "l2cap://hci0:0x80?le=1";

error bad_uri(const uri& u, std::string what) {
  return {make_error_code(errc::bad_uri), fmt::format("bad URI '{}': {}", u.text, what)};
}
error bad_option(const uri& u, std::string what) {
  return {make_error_code(errc::bad_option), fmt::format("bad option in '{}': {}", u.text, what)};
}

// Decimal or 0x-prefixed hex, as PSMs are written both ways.
std::optional<std::uint32_t> parse_number(std::string_view text) {
  int base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    text.remove_prefix(2);
    base = 16;
  }
  std::uint32_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v, base);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

result<std::uint16_t> check_psm(const uri& u, std::string_view text, role r, address_type t) {
  auto v = parse_number(text);
  if (!v)
    return bad_uri(u, fmt::format("'{}' is not a PSM (a number, e.g. 0x1001 for BR/EDR or 0x80 with ?le=1); "
                                  "write e.g. {}", text, r == role::listen ? server_example : client_example));
  if (*v == 0) {
    if (r == role::listen) return std::uint16_t{0};
    return bad_uri(u, "a client needs the server's PSM; PSM 0 only means \"pick a free one\" when serving");
  }
  if (is_le(t)) {
    if (*v > le_max_psm)
      return bad_uri(u, fmt::format("PSM {} is out of range for LE: LE PSMs are 0x01-0xFF (servers: 0x80-0xFF, or 0 "
                                    "for a free one)", text));
    if (r == role::listen && *v < le_dynamic_psm)
      return bad_uri(u, fmt::format("PSM {} is a fixed LE PSM the Bluetooth SIG assigns; serve on 0x80-0xFF (or 0 for a "
                                    "free one), e.g. {}", text, le_server_example));
    return static_cast<std::uint16_t>(*v);
  }
  if (!valid_bredr_psm(*v))
    return bad_uri(u, fmt::format("PSM {} is not a BR/EDR PSM: they are odd with bit 8 clear (0x1001, 0x1003, ... "
                                  "0x10FF, 0x1201...){}", text, *v <= le_max_psm ? "; for an LE PSM add ?le=1" : ""));
  if (r == role::listen && *v < bredr_dynamic_psm)
    return bad_uri(u, fmt::format("PSM {} is one the Bluetooth SIG assigns (SDP, RFCOMM, ...); serve on 0x1001 or "
                                  "above (or 0 for a free one)", text));
  return static_cast<std::uint16_t>(*v);
}

result<std::uint16_t> check_mtu(const uri& u, std::string_view name, std::string_view text, std::uint16_t min) {
  auto v = parse_number(text);
  if (!v || *v < min || *v > 0xFFFF)
    return bad_option(u, fmt::format("{}={} is not an MTU: {}-65535 bytes", name, text, min));
  return static_cast<std::uint16_t>(*v);
}

result<void> read_options(const uri& u, role r, endpoint_spec& spec) {
  auto known = r == role::listen ? check_options(u, {"le", "imtu", "omtu", "sec", "mode"})
                                 : check_options(u, {"le", "imtu", "omtu", "sec", "mode", "adapter"});
  if (!known) return known.err();
  if (auto le = u.option("le")) {
    if (*le == "0")
      spec.type = address_type::bredr;
    else if (*le == "1" || *le == "public")
      spec.type = address_type::le_public;
    else if (*le == "random")
      spec.type = address_type::le_random;
    else
      return bad_option(u, fmt::format("le={} is not an address type: 1 or public (LE, public address), random "
                                       "(LE, random address), 0 (BR/EDR, the default)", *le));
  }
  const bool le = is_le(spec.type);
  if (auto v = u.option("imtu")) {
    auto m = check_mtu(u, "imtu", *v, le ? le_min_mtu : bredr_min_mtu);
    if (!m) return m.err();
    spec.imtu = *m;
  }
  if (auto v = u.option("omtu")) {
    if (le)
      return bad_option(u, "omtu= is BR/EDR only: on LE the peer's receive MTU is what this side may send (the log "
                           "says it once connected)");
    auto m = check_mtu(u, "omtu", *v, bredr_min_mtu);
    if (!m) return m.err();
    spec.omtu = *m;
  }
  if (auto sec = u.option("sec")) {
    spec.security = bluetooth::parse_security(*sec);
    if (!spec.security)
      return bad_option(u, fmt::format("sec={} is not a security level: {}", *sec, bluetooth::security_levels));
  }
  if (auto m = u.option("mode")) {
    if (le)
      return bad_option(u, "mode= is BR/EDR only: LE channels have one mode, credit-based flow control");
    for (auto c : {channel_mode::basic, channel_mode::ertm, channel_mode::streaming})
      if (*m == describe(c)) spec.mode = c;
    if (!spec.mode)
      return bad_option(u, fmt::format("mode={} is not an L2CAP mode: basic, ertm or streaming", *m));
  }
  if (auto via = u.option("adapter")) {
    if (!is_adapter_name(*via) && !parse_address(*via))
      return bad_option(u, fmt::format("adapter={} names no adapter: give hciN or the adapter's address "
                                       "(hciconfig lists both)", *via));
    spec.via = std::string(*via);
  }
  return {};
}

std::size_t colon_count(std::string_view s) { return static_cast<std::size_t>(std::count(s.begin(), s.end(), ':')); }

}  // namespace

std::string_view describe(channel_mode m) {
  switch (m) {
    case channel_mode::ertm: return "ertm";
    case channel_mode::streaming: return "streaming";
    case channel_mode::basic: break;
  }
  return "basic";
}

result<endpoint_spec> parse(const uri& u, role r) {
  endpoint_spec spec;
  if (!u.path.empty() && u.path != "/")
    return bad_uri(u, fmt::format("l2cap:// takes no path ('{}'); write e.g. {}", u.path,
                                  r == role::listen ? server_example : client_example));
  if (auto ok = read_options(u, r, spec); !ok) return ok.err();
  // An address has five colons of its own: six is an address and a PSM,
  // five an address alone; fewer is a name (hciN, any) and maybe a PSM.
  const std::string_view auth = u.authority;
  const std::size_t colons = colon_count(auth);
  std::string_view host = auth, psm;
  if (colons == 6 || colons == 1) {
    host = auth.substr(0, auth.rfind(':'));
    psm = auth.substr(auth.rfind(':') + 1);
  } else if (colons != 5 && colons != 0) {
    return bad_uri(u, fmt::format("'{}' is not a Bluetooth address and PSM; write e.g. {}", auth,
                                  r == role::listen ? server_example : client_example));
  }
  auto h = bluetooth::parse_host(u, host, colons >= 5, r == role::connect, client_example, server_example);
  if (!h) return h.err();
  spec.kind = h->kind;
  spec.address = h->address;
  spec.adapter = std::move(h->adapter);
  if (colons == 6 || colons == 1) {
    auto p = check_psm(u, psm, r, spec.type);
    if (!p) return p.err();
    spec.psm = *p;
  } else if (r == role::connect) {
    return bad_uri(u, fmt::format("a client needs the server's PSM after the address, e.g. {}", client_example));
  }
  return spec;
}

std::string format_uri(const bdaddr_t& a, std::uint16_t psm, address_type t) {
  const char* suffix = t == address_type::le_public ? "?le=1" : t == address_type::le_random ? "?le=random" : "";
  return fmt::format("l2cap://{}:0x{:04X}{}", a == bluetooth::any_address ? std::string("any") : bluetooth::format_address(a),
                     psm, suffix);
}

}  // namespace anysock::l2cap
