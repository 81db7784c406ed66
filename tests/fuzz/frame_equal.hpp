// Frame equality for round-trip checks: the bytes past len are not part of
// a frame (a remote request carries a length but no data).
#pragma once

#include <algorithm>

#include "anysock/can/frame.hpp"

namespace anysock::fuzz {

inline bool same_frame(const can::frame& a, const can::frame& b) {
  if (a.id != b.id || a.len != b.len || a.fd != b.fd || a.fd_flags != b.fd_flags || a.len8_dlc != b.len8_dlc)
    return false;
  if (a.remote()) return true;
  return std::equal(a.data.begin(), a.data.begin() + a.len, b.data.begin());
}

}  // namespace anysock::fuzz
