// What the bridge says about itself: counts per way, drops said at most once
// a second, one line when a bridged link ends. Kept out of bridge.hpp's
// template so every transport does not compile it again.
#pragma once

#include <boost/system/error_code.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "anysock/session.hpp"

namespace anysock {

struct bridge_way_stats {
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;
  std::uint64_t dropped = 0;
  void add(std::size_t n) {
    ++messages;
    bytes += n;
  }
};

// Counts a dropped message and says so, at most once a second per way
// (with how many were dropped since): a busy bus behind a slow reader must
// not turn the log into a second flood.
class drop_log {
 public:
  void dropped(const session& s, const std::string& destination, std::string_view why, bridge_way_stats& stats);

 private:
  std::chrono::steady_clock::time_point last_said_{};
  std::uint64_t unsaid_ = 0;
};

// The line a bridged link ends with: messages and bytes each way, drops.
void log_bridge_end(const session& s, const std::string& target, const bridge_way_stats& to_b,
                    const bridge_way_stats& to_a);

// "closed by peer", "reset by peer", or the error's own words.
std::string describe_end(const boost::system::error_code& why);

}  // namespace anysock
