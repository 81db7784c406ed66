// rfcomm:// for listening and for connecting, and the address and UUID
// syntaxes inside it: the input is what follows "rfcomm://".
#include <cstddef>
#include <cstdint>
#include <string>

#include "anysock/bluetooth/rfcomm_uri.hpp"
#include "fuzz_check.hpp"

using namespace anysock;

namespace {

void check_spec(const rfcomm::endpoint_spec& s, const std::string& text) {
  FUZZ_CHECK(s.channel <= 30, text);
  if (s.kind == rfcomm::endpoint_spec::host_kind::address) {
    auto again = rfcomm::parse_address(rfcomm::format_address(s.address));
    FUZZ_CHECK(again && *again == s.address, text);
  }
  if (s.kind == rfcomm::endpoint_spec::host_kind::adapter) FUZZ_CHECK(!s.adapter.empty(), text);
  auto uuid = rfcomm::parse_uuid(rfcomm::format_uuid(s.uuid));
  FUZZ_CHECK(uuid && *uuid == s.uuid, rfcomm::format_uuid(s.uuid));
  if (s.service_name) FUZZ_CHECK(fuzz::one_line(*s.service_name), *s.service_name);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string raw(reinterpret_cast<const char*>(data), size);
  // The pieces alone, as the URI's parts and --adapter read them.
  if (auto a = rfcomm::parse_address(raw)) FUZZ_CHECK(rfcomm::format_address(*a).size() == 17, raw);
  if (auto id = rfcomm::parse_uuid(raw)) {
    auto again = rfcomm::parse_uuid(rfcomm::format_uuid(*id));
    FUZZ_CHECK(again && *again == *id, raw);
  }
  const std::string text = "rfcomm://" + raw;
  auto u = parse_uri(text);
  if (!u) {
    FUZZ_CHECK_ERROR(u.err());
    return 0;
  }
  for (auto r : {rfcomm::role::listen, rfcomm::role::connect}) {
    auto s = rfcomm::parse(*u, r);
    if (s) check_spec(*s, text);
    else FUZZ_CHECK_ERROR(s.err());
  }
  return 0;
}
