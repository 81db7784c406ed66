#include "anysock/log.hpp"

#include <array>
#include <fmt/format.h>

#include "anysock/echo.hpp"

namespace anysock {

std::span<std::byte> drain_buffer() {
  thread_local std::array<std::byte, 64 * 1024> buffer;
  return buffer;
}

std::string printable(std::string_view bytes, std::size_t limit) {
  std::string out;
  out.reserve(std::min(bytes.size(), limit) + 8);
  for (std::size_t i = 0; i < bytes.size() && i < limit; ++i) {
    auto c = static_cast<unsigned char>(bytes[i]);
    if (c == '\\')
      out += "\\\\";
    else if (c >= 0x20 && c != 0x7f)  // printable ASCII and UTF-8 sequences
      out += static_cast<char>(c);
    else if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else if (c == '\t')
      out += "\\t";
    else
      out += fmt::format("\\x{:02x}", c);
  }
  if (bytes.size() > limit) out += fmt::format("... ({} more bytes)", bytes.size() - limit);
  return out;
}

bool parse_log_level(std::string_view name, spdlog::level::level_enum& out) {
  static constexpr std::array<std::pair<std::string_view, spdlog::level::level_enum>, 7> names{{
      {"trace", spdlog::level::trace},
      {"debug", spdlog::level::debug},
      {"info", spdlog::level::info},
      {"warn", spdlog::level::warn},
      {"warning", spdlog::level::warn},
      {"error", spdlog::level::err},
      {"off", spdlog::level::off},
  }};
  for (auto [n, l] : names)
    if (n == name) {
      out = l;
      return true;
    }
  return false;
}

}  // namespace anysock
