// Logging: spdlog, set up once by the program. Payloads are logged at debug,
// and only formatted when debug is on, since this sits on the echo's hot path.
#pragma once

#include <boost/asio/buffer.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

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

// A warning said at most once a second, with how many it stands for: a peer
// that floods garbage must not flood the log too.
class rate_limited {
 public:
  template <class... Args>
  void warn(fmt::format_string<Args...> f, Args&&... args) {
    ++unsaid_;
    const auto now = std::chrono::steady_clock::now();
    if (said_ && now - last_ < std::chrono::seconds(1)) return;
    said_ = true;
    last_ = now;
    const auto n = std::exchange(unsaid_, 0);
    spdlog::warn("{}{}", fmt::format(f, std::forward<Args>(args)...),
                 n > 1 ? fmt::format(" ({} like it since the last warning)", n) : std::string());
  }

 private:
  std::chrono::steady_clock::time_point last_{};
  std::uint64_t unsaid_ = 0;
  bool said_ = false;
};

}  // namespace anysock
