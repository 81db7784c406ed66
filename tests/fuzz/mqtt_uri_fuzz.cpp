// mqtt:// as the responder, the client and a bridge side read it: the input
// is what follows "mqtt://". What it accepts names topics a broker takes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "anysock/can/mqtt_uri.hpp"
#include "fuzz_check.hpp"

using namespace anysock;

namespace {

bool publishable(const std::string& topic) {
  if (topic.empty() || topic.find_first_of("+#") != std::string::npos || topic.find('\0') != std::string::npos)
    return false;
  return topic.front() != '/' && topic.back() != '/' && topic.find("//") == std::string::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto u = fuzz::parse_after("mqtt://", data, size);
  if (!u) return 0;
  for (bool bridge : {false, true}) {
    auto c = can::mqtt::parse_bus(*u, bridge);
    if (!c) {
      FUZZ_CHECK_ERROR(c.err());
      continue;
    }
    FUZZ_CHECK(!c->host.empty() && c->port != 0, u->text);
    FUZZ_CHECK(publishable(c->frame_topic()) && publishable(c->status_topic()), c->frame_topic());
    FUZZ_CHECK(c->node.find('/') == std::string::npos && !c->node.empty() && c->node.size() <= 64, c->node);
    FUZZ_CHECK(c->qos == 0 || c->qos == 1, u->text);
    FUZZ_CHECK(c->version == 5 || c->version == 4, u->text);
    FUZZ_CHECK(!(c->messages && c->format == can::mqtt::payload_format::candump), u->text);
  }
  return 0;
}
