// SocketCAN transports: can:// (CAN_RAW, classic and FD frames, a
// storm-proof echo responder) and isotp:// (ISO 15765-2 messages).
#pragma once

#include "anysock/registry.hpp"

namespace anysock::can {

void register_transports(registry& r);

}  // namespace anysock::can
