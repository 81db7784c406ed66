// can:// as a responder reads it (parse_raw + check_storm_safe) and as a
// bridge side (parse_raw_bridge): the input is what follows "can://".
#include <linux/can.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "anysock/can/config.hpp"
#include "fuzz_check.hpp"

using namespace anysock;

namespace {

void check_ids(const can::raw_config& c, const std::string& text) {
  for (const auto& f : c.rx) {
    const canid_t limit = (f.id & CAN_EFF_FLAG) ? CAN_EFF_MASK : CAN_SFF_MASK;
    FUZZ_CHECK((f.id & ~(CAN_EFF_FLAG | CAN_RTR_FLAG | CAN_ERR_FLAG)) <= limit, text);
  }
  if (!c.tx_is_offset) {
    const canid_t limit = (c.tx_id & CAN_EFF_FLAG) ? CAN_EFF_MASK : CAN_SFF_MASK;
    FUZZ_CHECK((c.tx_id & ~CAN_EFF_FLAG) <= limit, text);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto u = fuzz::parse_after("can://", data, size);
  if (!u) return 0;
  const std::string& text = u->text;
  if (auto c = can::parse_raw(*u); c) {
    check_ids(*c, text);
    // A responder the check lets through never answers its own reply.
    if (auto safe = can::check_storm_safe(*u, *c); safe) {
      for (canid_t probe : {canid_t{0x7E0}, canid_t{0x123}, canid_t{0x7FF}, canid_t{0x18DA00F1 | CAN_EFF_FLAG}})
        if (c->is_request(probe)) FUZZ_CHECK(!c->is_request(c->reply_id(probe)), text);
    } else {
      FUZZ_CHECK_ERROR(safe.err());
    }
  } else {
    FUZZ_CHECK_ERROR(c.err());
  }
  if (auto b = can::parse_raw_bridge(*u); b) check_ids(*b, text);
  else FUZZ_CHECK_ERROR(b.err());
  return 0;
}
