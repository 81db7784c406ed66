// The whitespace rule the socketcand framer and parser share: tokens are
// separated by spaces, tabs and line ends, as upstream's strtok splits them.
#pragma once

#include <string_view>

namespace anysock::can::socketcand {

inline bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace anysock::can::socketcand
