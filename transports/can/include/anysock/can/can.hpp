// SocketCAN transports: can:// (CAN_RAW, classic and FD frames, a
// storm-proof echo responder) and isotp:// (ISO 15765-2 messages); and the
// remote buses with can://'s frames: socketcand:// and mqtt://.
#pragma once

#include "anysock/registry.hpp"

namespace anysock::can {

void register_transports(registry& r);
// mqtt://, with can://'s frame syntax (register_transports calls it).
void register_mqtt(registry& r, const transport& can);

}  // namespace anysock::can
