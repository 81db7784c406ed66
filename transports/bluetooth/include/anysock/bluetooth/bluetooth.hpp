// The Bluetooth families, one folder because they share adapters, device
// addresses and security levels: rfcomm:// (a serial-port byte stream) and
// l2cap:// (channels that keep message boundaries, BR/EDR and LE).
#pragma once

#include "anysock/registry.hpp"

namespace anysock::bluetooth {

void register_transports(registry& r);

}  // namespace anysock::bluetooth
