// Finding a CAN interface by name, with the one-line errors a user can act on.
#pragma once

#include <string>

#include "anysock/error.hpp"
#include "anysock/link.hpp"
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
class down_watch {
 public:
  void went_down(const std::string& link);
  void traffic(const std::string& link) {
    if (down_) came_back(link);
  }

 private:
  void came_back(const std::string& link);
  bool down_ = false;
};

}  // namespace anysock::can
