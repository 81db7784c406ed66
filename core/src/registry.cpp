#include "anysock/registry.hpp"

#include <fmt/format.h>

namespace anysock {

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
