#include "anysock/bluetooth/rfcomm_uri.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fmt/format.h>
#include <vector>

namespace anysock::rfcomm {
namespace {

using bluetooth::is_adapter_name;

constexpr std::string_view client_example = "rfcomm://00:1A:7D:DA:71:13:5";
constexpr std::string_view server_example = "rfcomm://hci0:5";

// The Bluetooth base UUID, 0000xxxx-0000-1000-8000-00805F9B34FB.
constexpr std::array<std::uint8_t, 16> base_uuid{0, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0x80, 0x5F, 0x9B, 0x34, 0xFB};

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    auto at = s.find(sep);
    out.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return out;
    s = s.substr(at + 1);
  }
}

error bad_uri(const uri& u, std::string what) {
  return {make_error_code(errc::bad_uri), fmt::format("bad URI '{}': {}", u.text, what)};
}
error bad_option(const uri& u, std::string what) {
  return {make_error_code(errc::bad_option), fmt::format("bad option in '{}': {}", u.text, what)};
}

result<std::uint8_t> parse_channel(const uri& u, std::string_view text, role r) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size())
    return bad_uri(u, fmt::format("'{}' is not an RFCOMM channel number (1-{}); write e.g. {}", text, max_channel,
                                  r == role::listen ? server_example : client_example));
  if (value > max_channel || (value == 0 && r == role::connect))
    return bad_uri(u, fmt::format("channel {} is out of range: RFCOMM channels are 1-{}{}", text, max_channel,
                                  r == role::listen ? " (0 or none picks a free one)"
                                                    : " (leave it out to look it up by SDP)"));
  return static_cast<std::uint8_t>(value);
}

result<void> read_options(const uri& u, role r, endpoint_spec& spec) {
  auto known = r == role::listen ? check_options(u, {"sec", "lm", "uuid", "name"})
                                 : check_options(u, {"sec", "lm", "uuid", "name", "adapter"});
  if (!known) return known.err();
  if (auto sec = u.option("sec")) {
    spec.security = bluetooth::parse_security(*sec);
    if (!spec.security)
      return bad_option(u, fmt::format("sec={} is not a security level: {}", *sec, bluetooth::security_levels));
  }
  if (auto lm = u.option("lm")) {
    static constexpr std::pair<std::string_view, std::uint32_t> bits[] = {
        {"master", RFCOMM_LM_MASTER},     {"auth", RFCOMM_LM_AUTH},         {"encrypt", RFCOMM_LM_ENCRYPT},
        {"trusted", RFCOMM_LM_TRUSTED}, {"reliable", RFCOMM_LM_RELIABLE}, {"secure", RFCOMM_LM_SECURE}};
    std::uint32_t mode = 0;
    for (auto word : split(*lm, ',')) {
      auto it = std::find_if(std::begin(bits), std::end(bits), [&](const auto& b) { return b.first == word; });
      if (it == std::end(bits))
        return bad_option(u, fmt::format("lm: '{}' is not a link mode flag: master, auth, encrypt, trusted, "
                                         "reliable, secure (comma-separated)", word));
      mode |= it->second;
    }
    spec.link_mode = mode;
  }
  if (auto id = u.option("uuid")) {
    auto parsed = parse_uuid(*id);
    if (!parsed)
      return bad_option(u, fmt::format("uuid={} is not a UUID: give 16 bits (1101 or 0x1101, Serial Port) or "
                                       "128 (00001101-0000-1000-8000-00805F9B34FB)", *id));
    spec.uuid = *parsed;
  }
  if (auto name = u.option("name")) {
    if (name->empty() || name->size() > 200)
      return bad_option(u, "name= needs a service name of 1 to 200 characters");
    spec.service_name = std::string(*name);
  }
  if (auto via = u.option("adapter")) {
    if (!is_adapter_name(*via) && !parse_address(*via))
      return bad_option(u, fmt::format("adapter={} names no adapter: give hciN or the adapter's address "
                                       "(hciconfig lists both)", *via));
    spec.via = std::string(*via);
  }
  return {};
}

}  // namespace

std::optional<service_uuid> parse_uuid(std::string_view text) {
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) text.remove_prefix(2);
  std::string hex;
  for (char c : text) {
    if (c == '-') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
    hex += c;
  }
  // Dashes only where a 128-bit UUID has them (8-4-4-4-12).
  if (text.find('-') != std::string_view::npos &&
      (text.size() != 36 || text[8] != '-' || text[13] != '-' || text[18] != '-' || text[23] != '-'))
    return std::nullopt;
  service_uuid u;
  if (hex.size() == 4) {
    u.short_value = static_cast<std::uint16_t>(std::stoul(hex, nullptr, 16));
    return u;
  }
  if (hex.size() != 32) return std::nullopt;
  for (std::size_t i = 0; i < 16; ++i)
    std::from_chars(hex.data() + 2 * i, hex.data() + 2 * i + 2, u.bytes[i], 16);
  if (u.bytes[0] == 0 && u.bytes[1] == 0 && std::equal(u.bytes.begin() + 4, u.bytes.end(), base_uuid.begin() + 4)) {
    u.short_value = static_cast<std::uint16_t>(u.bytes[2] << 8 | u.bytes[3]);
    u.bytes = {};
    return u;
  }
  u.is_short = false;
  u.short_value = 0;
  return u;
}

std::string format_uuid(const service_uuid& u) {
  if (u.is_short) return fmt::format("0x{:04X}", u.short_value);
  std::string s;
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
    s += fmt::format("{:02X}", u.bytes[i]);
  }
  return s;
}

result<endpoint_spec> parse(const uri& u, role r) {
  endpoint_spec spec;
  if (!u.path.empty() && u.path != "/")
    return bad_uri(u, fmt::format("rfcomm:// takes no path ('{}'); write e.g. {}", u.path,
                                  r == role::listen ? server_example : client_example));
  // An address has five colons of its own: six parts is an address alone,
  // seven is an address and a channel; fewer is a name (hciN, any) and
  // maybe a channel.
  auto parts = split(u.authority, ':');
  std::string_view host = u.authority, channel;
  if (parts.size() == 7 || parts.size() == 2) {
    auto at = u.authority.rfind(':');
    host = std::string_view(u.authority).substr(0, at);
    channel = std::string_view(u.authority).substr(at + 1);
  } else if (parts.size() != 6 && parts.size() != 1) {
    return bad_uri(u, fmt::format("'{}' is not a Bluetooth address and channel; write e.g. {}", u.authority,
                                  r == role::listen ? server_example : client_example));
  }
  auto h = bluetooth::parse_host(u, host, parts.size() >= 6, r == role::connect, client_example, server_example);
  if (!h) return h.err();
  spec.kind = h->kind;
  spec.address = h->address;
  spec.adapter = std::move(h->adapter);
  if (!channel.empty() || parts.size() == 7 || parts.size() == 2) {
    auto ch = parse_channel(u, channel, r);
    if (!ch) return ch.err();
    spec.channel = *ch;
  }
  if (auto ok = read_options(u, r, spec); !ok) return ok.err();
  return spec;
}

std::string format_uri(const bdaddr_t& a, std::uint8_t channel) {
  return fmt::format("rfcomm://{}:{}", a == any_address ? std::string("any") : format_address(a), channel);
}

}  // namespace anysock::rfcomm
