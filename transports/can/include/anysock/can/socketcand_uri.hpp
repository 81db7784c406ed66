// What a socketcand:// URI says: the server, its bus, and the rx=/tx= rules of
// can://. No sockets here, so the link and a fuzzer share one parser.
#pragma once

#include <cstdint>
#include <string>

#include "anysock/can/config.hpp"
#include "anysock/error.hpp"
#include "anysock/uri.hpp"

namespace anysock::can::socketcand {

// Where a socketcand:// URI points and what it asks of the bus.
struct remote {
  std::string host;
  std::uint16_t port = 0;
  std::string bus;
  raw_config frames;  // rx=, tx=, as for can://
};
// `socketcand://HOST[:PORT]/BUS[?rx=..&tx=..]`; `bridge` takes parse_raw_bridge's
// defaults (every frame, IDs kept) instead of the responder's.
result<remote> parse_remote(const uri& u, bool bridge);

}  // namespace anysock::can::socketcand
