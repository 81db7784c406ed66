// Finding a CAN interface by name, with the one-line errors a user can act
// on, and what the kernel says about a link's socket later: the interface
// went down, frames were dropped.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>

#include "anysock/error.hpp"
#include "anysock/link.hpp"
#include "anysock/log.hpp"
#include "anysock/uri.hpp"

namespace anysock::can {

// The interface index of a CAN interface that is up. `fd` also requires the
// CAN FD MTU (72). `fd_probe` is any open socket, for the ioctls.
result<int> find_interface(const uri& u, const std::string& name, bool fd, int fd_probe);

// The error for a socket() that failed: most often, no AF_CAN in this kernel.
error socket_error(const uri& u, const error_code& ec, std::string_view module);

// Whether a link's interface went down (the kernel reports ENETDOWN on the
// socket once, as on every bitrate change) and no traffic came since: the
// link goes on, and the log says when it went down and when it came back.
// A responder may learn it first from a reply the kernel refused
// (ENETDOWN on send: the socket's one report is then used up): that reply is
// lost, counted, and the count said when the interface is back, not one
// warning per reply.
class down_watch {
 public:
  void went_down(const std::string& link);
  void reply_lost(const std::string& link);
  void traffic(const std::string& link) {
    if (down_) came_back(link);
  }

 private:
  void came_back(const std::string& link);
  bool down_ = false;
  std::uint64_t replies_lost_ = 0;  // while it is down
};

// SO_RXQ_OVFL: how many frames the kernel dropped on a socket because its
// receive buffer was full, the one loss a reader of a bus cannot see in the
// frames it gets. Each received message may carry the socket's running
// count; a rise is warned about at most once a second.
class overflow_watch {
 public:
  // Asks the kernel to report the count with each received message.
  static error_code enable(int fd);
  // The count a received message carries, if the kernel added it.
  static std::optional<std::uint32_t> count_in(const msghdr& h);
  // The socket's running count, as a message carried it.
  void saw(std::uint32_t count, const std::string& link);
  // Says the total once, before the socket closes, if any were dropped:
  // the kernel's own count (SO_MEMINFO), since drops after the last frame
  // read reach no message.
  void closing(int fd, const std::string& link);

 private:
  std::uint32_t last_ = 0;  // the kernel's running count (wraps at 2^32)
  std::uint64_t dropped_ = 0;
  rate_limited log_;
};

}  // namespace anysock::can
