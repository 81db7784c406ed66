// What other publishers put on an mqtt:// bus, as the link decodes it: every
// payload is refused with one line or decodes to a frame (or message) the
// link can send, and encoding that again gives back the same bytes.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "anysock/can/mqtt_payload.hpp"
#include "frame_equal.hpp"
#include "fuzz_check.hpp"

using namespace anysock;
namespace mqtt = anysock::can::mqtt;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> in(data, size);
  const std::string raw(reinterpret_cast<const char*>(data), size);
  auto p = mqtt::decode(in, mqtt::payload_format::bin);
  if (!p) {
    FUZZ_CHECK_ERROR(p.err());
  } else if (p->is_message) {
    FUZZ_CHECK(p->bytes.size() <= mqtt::max_message, raw);
    FUZZ_CHECK(mqtt::encode_message(p->bytes, p->micros) == raw, raw);
  } else {
    const auto& f = p->f;
    FUZZ_CHECK(f.len <= (f.fd ? CANFD_MAX_DLEN : CAN_MAX_DLEN), raw);
    FUZZ_CHECK(!f.fd || can::valid_fd_length(f.len), raw);
    FUZZ_CHECK(mqtt::encode_frame(f, p->micros) == raw, raw);
  }
  auto t = mqtt::decode(in, mqtt::payload_format::candump);
  if (!t) {
    FUZZ_CHECK_ERROR(t.err());
  } else {
    const std::string text = mqtt::encode_text(t->f);
    auto again = mqtt::decode({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()},
                              mqtt::payload_format::candump);
    FUZZ_CHECK(again.ok(), text);
    FUZZ_CHECK(fuzz::same_frame(again->f, t->f), text);
  }
  return 0;
}
