// The transports this build was configured with (CMake's ANYSOCK_TRANSPORTS).
#pragma once

#include "anysock/registry.hpp"

namespace anysock {

void add_builtin_transports(registry& r);

}  // namespace anysock
