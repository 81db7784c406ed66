#include "anysock/bluetooth/bluetooth.hpp"

#include "anysock/bluetooth/l2cap.hpp"
#include "anysock/bluetooth/rfcomm.hpp"

namespace anysock::bluetooth {

void register_transports(registry& r) {
  r.add(rfcomm::make_transport());
  r.add(l2cap::make_transport());
}

}  // namespace anysock::bluetooth
