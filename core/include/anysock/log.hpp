// Logging: spdlog, set up once by the program. Payloads are logged at debug,
// and only formatted when debug is on, since this sits on the echo's hot path.
#pragma once

#include <boost/asio/buffer.hpp>
#include <spdlog/spdlog.h>
#include <string>
#include <string_view>

#include "anysock/session.hpp"

namespace anysock {

// Text for a payload: printable ASCII/UTF-8 as is, other bytes as \xNN,
// cut at `limit` bytes.
std::string printable(std::string_view bytes, std::size_t limit = 256);

inline void log_payload(const session& s, std::string_view dir, boost::asio::const_buffer b) {
  if (!spdlog::should_log(spdlog::level::debug)) return;
  std::string_view v(static_cast<const char*>(b.data()), b.size());
  spdlog::debug("{} {} {} {} bytes: {}", s.endpoint(), s.peer(), dir, b.size(), printable(v));
}

// "trace", "debug", "info", "warn", "error", "off" -> spdlog level; false if unknown.
bool parse_log_level(std::string_view name, spdlog::level::level_enum& out);

}  // namespace anysock
