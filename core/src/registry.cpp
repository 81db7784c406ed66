#include "anysock/registry.hpp"

#include <fmt/format.h>

namespace anysock {

std::string_view describe(message_kind k) {
  switch (k) {
    case message_kind::bytes: return "a byte stream";
    case message_kind::messages: return "messages without a header";
    case message_kind::frames: return "frames with an ID";
  }
  return "?";
}

payload_shape shape(const transport& t, const uri& u) {
  if (t.shape_for) return t.shape_for(u);
  return {t.carries, t.max_message};
}

result<listener_list> listen(const transport& t, const uri& u, asio::io_context& io, endpoint_use use) {
  if (use == endpoint_use::bridge && t.bridge_listen) return t.bridge_listen(u, io);
  return t.listen(u, io);
}

result<void> validate(const transport& t, const uri& u, endpoint_use use) {
  if (use == endpoint_use::bridge && t.bridge_validate) return t.bridge_validate(u);
  if (t.validate) return t.validate(u);
  return {};
}

result<listener_list> listen(const registry& reg, std::string_view uri_text, asio::io_context& io,
                             endpoint_use use) {
  auto u = parse_uri(uri_text);
  if (!u) return u.err();
  auto t = reg.resolve(*u);
  if (!t) return t.err();
  if (auto ok = validate(**t, *u, use); !ok) return ok.err();
  return listen(**t, *u, io, use);
}

void registry::add(transport t) {
  for (auto& existing : transports_)
    if (existing.scheme == t.scheme) {
      existing = std::move(t);
      return;
    }
  transports_.push_back(std::move(t));
}

const transport* registry::find(std::string_view scheme) const {
  for (auto& t : transports_)
    if (t.scheme == scheme) return &t;
  return nullptr;
}

result<const transport*> registry::resolve(const uri& u) const {
  if (auto t = find(u.scheme)) return t;
  std::string known;
  for (auto& t : transports_) known += fmt::format("{}{}://", known.empty() ? "" : ", ", t.scheme);
  return error{make_error_code(errc::unknown_scheme),
               fmt::format("unknown scheme '{}' in '{}'; this build speaks {}", u.scheme, u.text,
                           known.empty() ? "no transports" : known)};
}

std::string registry::describe() const {
  std::string out = "URI schemes:\n";
  for (auto& t : transports_) {
    out += fmt::format("  {}://  {}\n", t.scheme, t.summary);
    out += fmt::format("      serve: {}\n      send:  {}\n", t.listen_example, t.connect_example);
    if (!t.options_help.empty()) out += fmt::format("      options: {}\n", t.options_help);
  }
  return out;
}

}  // namespace anysock
