// isotp:// options: the input is what follows "isotp://".
#include <linux/can.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "anysock/can/config.hpp"
#include "fuzz_check.hpp"

using namespace anysock;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto u = fuzz::parse_after("isotp://", data, size);
  if (!u) return 0;
  const std::string& text = u->text;
  auto c = can::parse_isotp(*u);
  if (!c) {
    FUZZ_CHECK_ERROR(c.err());
    return 0;
  }
  FUZZ_CHECK(c->rx_id != c->tx_id, text);
  for (canid_t id : {c->rx_id, c->tx_id})
    FUZZ_CHECK((id & ~CAN_EFF_FLAG) <= ((id & CAN_EFF_FLAG) ? CAN_EFF_MASK : CAN_SFF_MASK), text);
  FUZZ_CHECK(c->padding >= -1 && c->padding <= 0xFF && c->ext_address >= -1 && c->ext_address <= 0xFF, text);
  return 0;
}
