#include "anysock/uri.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fmt/format.h>

#include "anysock/log.hpp"

namespace anysock {
namespace {

error bad(std::string_view text, std::string_view what) {
  return {make_error_code(errc::bad_uri), fmt::format("bad URI '{}': {}", text, what)};
}

error bad_opt(const uri& u, std::string_view what) {
  return {make_error_code(errc::bad_option), fmt::format("bad option in '{}': {}", u.text, what)};
}

bool valid_scheme(std::string_view s) {
  if (s.empty() || !std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
  });
}

}  // namespace

std::optional<std::string_view> uri::option(std::string_view key) const {
  for (const auto& [k, v] : query)
    if (k == key) return std::string_view{v};
  return std::nullopt;
}

result<uri> parse_uri(std::string_view text) {
  uri u;
  u.text = std::string{text};
  if (text.empty()) return bad(text, "it is empty; write e.g. tcp://[::1]:50007");
  // Control bytes would reach every message that quotes the URI: refuse them here, quoting it escaped.
  if (auto c = std::find_if(text.begin(), text.end(), [](unsigned char b) { return b < 0x20 || b == 0x7F; });
      c != text.end())
    return error{make_error_code(errc::bad_uri),
                 fmt::format("bad URI '{}': control byte \\x{:02X} at position {}; a URI is printable text",
                             printable(text), static_cast<unsigned char>(*c), c - text.begin())};
  auto sep = text.find("://");
  if (sep == std::string_view::npos)
    return bad(text, "no '://' after a scheme; write e.g. tcp://[::1]:50007");
  auto scheme = text.substr(0, sep);
  if (!valid_scheme(scheme))
    return bad(text, "the scheme before '://' must be letters, e.g. tcp");
  u.scheme.resize(scheme.size());
  std::transform(scheme.begin(), scheme.end(), u.scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });

  auto rest = text.substr(sep + 3);
  auto q = rest.find('?');
  auto before_query = rest.substr(0, q);
  // A '/' inside brackets belongs to the host (it cannot occur in an IPv6
  // literal, but this keeps the error about the bracket, not the path).
  std::size_t slash = std::string_view::npos;
  bool in_brackets = false;
  for (std::size_t i = 0; i < before_query.size(); ++i) {
    char c = before_query[i];
    if (c == '[') in_brackets = true;
    if (c == ']') in_brackets = false;
    if (c == '/' && !in_brackets) { slash = i; break; }
  }
  u.authority = std::string{before_query.substr(0, slash)};
  if (slash != std::string_view::npos) u.path = std::string{before_query.substr(slash)};
  if (u.authority.empty()) return bad(text, "nothing after '://'; give the endpoint's address");

  if (q != std::string_view::npos) {
    auto qs = rest.substr(q + 1);
    while (!qs.empty()) {
      auto amp = qs.find('&');
      auto item = qs.substr(0, amp);
      qs = amp == std::string_view::npos ? std::string_view{} : qs.substr(amp + 1);
      if (item.empty()) continue;
      auto eq = item.find('=');
      auto key = item.substr(0, eq);
      if (key.empty()) return bad(text, "a query option has no name before '='");
      std::string value = eq == std::string_view::npos ? "1" : std::string{item.substr(eq + 1)};
      u.query.emplace_back(std::string{key}, std::move(value));
    }
  }
  return u;
}

result<void> check_options(const uri& u, std::initializer_list<std::string_view> known) {
  for (const auto& [k, v] : u.query) {
    if (std::find(known.begin(), known.end(), k) != known.end()) continue;
    std::string list;
    for (auto name : known) list += fmt::format("{}{}", list.empty() ? "" : ", ", name);
    return bad_opt(u, fmt::format("unknown option '{}'; {} takes {}", k, u.scheme,
                                  list.empty() ? "no options" : list));
  }
  return {};
}

result<bool> bool_option(const uri& u, std::string_view key, bool fallback) {
  auto v = u.option(key);
  if (!v) return fallback;
  if (*v == "1" || *v == "true" || *v == "yes" || *v == "on") return true;
  if (*v == "0" || *v == "false" || *v == "no" || *v == "off") return false;
  return bad_opt(u, fmt::format("'{}={}' is not a boolean; use {}=1 or {}=0", key, *v, key, key));
}

result<std::uint64_t> uint_option(const uri& u, std::string_view key, std::uint64_t fallback,
                                  std::uint64_t min, std::uint64_t max) {
  auto v = u.option(key);
  if (!v) return fallback;
  std::uint64_t n = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc{} || p != v->data() + v->size() || n < min || n > max)
    return bad_opt(u, fmt::format("'{}={}' must be a whole number from {} to {}", key, *v, min, max));
  return n;
}

result<host_port> split_host_port(const uri& u, std::string_view example) {
  std::string_view a = u.authority;
  host_port hp;
  std::string_view port_text;
  if (a.front() == '[') {
    auto close = a.find(']');
    if (close == std::string_view::npos)
      return bad(u.text, fmt::format("missing ']' after the IPv6 address; write e.g. {}", example));
    hp.host = std::string{a.substr(1, close - 1)};
    hp.bracketed = true;
    auto after = a.substr(close + 1);
    if (after.empty() || after.front() != ':')
      return bad(u.text, fmt::format("no port after ']'; write e.g. {}", example));
    port_text = after.substr(1);
  } else {
    auto colon = a.rfind(':');
    if (colon == std::string_view::npos)
      return bad(u.text, fmt::format("no port; write host:port, e.g. {}", example));
    hp.host = std::string{a.substr(0, colon)};
    if (hp.host.find(':') != std::string::npos)
      return bad(u.text, fmt::format("an IPv6 address needs brackets; write e.g. {}", example));
    port_text = a.substr(colon + 1);
  }
  if (hp.host.empty())
    return bad(u.text, fmt::format("empty host; write e.g. {} (or [::] for every address)", example));
  if (port_text.empty()) return bad(u.text, fmt::format("empty port; write e.g. {}", example));
  unsigned long port = 0;
  auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || p != port_text.data() + port_text.size())
    return bad(u.text, fmt::format("port '{}' is not a number; use 0-65535 (0 picks a free one)", port_text));
  if (port > 65535)
    return bad(u.text, fmt::format("port {} is out of range; use 0-65535 (0 picks a free one)", port_text));
  hp.port = static_cast<std::uint16_t>(port);
  return hp;
}

result<host_port> split_host_port(const uri& u, std::string_view example, std::uint16_t default_port) {
  if (u.authority.empty()) return bad(u.text, fmt::format("no server; write e.g. {}", example));
  const std::string_view a = u.authority;
  const bool has_port = a.back() != ']' && (a.front() == '[' ? a.find("]:") != std::string_view::npos
                                                              : a.find(':') != std::string_view::npos);
  uri with_port = u;
  if (!has_port) with_port.authority += fmt::format(":{}", default_port);
  auto hp = split_host_port(with_port, example);
  if (!hp) return hp;
  if (hp->port == 0)
    return bad(u.text, fmt::format("port 0 names no server; leave it out for {} or write e.g. {}", default_port,
                                   example));
  return hp;
}

std::string join_host_port(std::string_view host, std::uint16_t port) {
  if (host.find(':') != std::string_view::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

}  // namespace anysock
