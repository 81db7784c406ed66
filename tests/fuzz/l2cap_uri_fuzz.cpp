// l2cap:// for listening and for connecting: the input is what follows
// "l2cap://". What parses must name a PSM the kernel would take for its
// address type, MTUs in range, and print to a URI that parses back the same.
#include <cstddef>
#include <cstdint>
#include <string>

#include "anysock/bluetooth/l2cap_uri.hpp"
#include "fuzz_check.hpp"

using namespace anysock;

namespace {

void check_spec(const l2cap::endpoint_spec& s, l2cap::role r, const std::string& text) {
  if (l2cap::is_le(s.type)) {
    FUZZ_CHECK(s.psm <= l2cap::le_max_psm, text);
    FUZZ_CHECK(!s.omtu && !s.mode, text);
    if (s.imtu) FUZZ_CHECK(*s.imtu >= l2cap::le_min_mtu, text);
  } else {
    FUZZ_CHECK(s.psm == 0 || l2cap::valid_bredr_psm(s.psm), text);
    if (s.imtu) FUZZ_CHECK(*s.imtu >= l2cap::bredr_min_mtu, text);
    if (s.omtu) FUZZ_CHECK(*s.omtu >= l2cap::bredr_min_mtu, text);
  }
  if (r == l2cap::role::connect) FUZZ_CHECK(s.psm != 0 && s.kind == l2cap::endpoint_spec::host_kind::address, text);
  if (s.kind != l2cap::endpoint_spec::host_kind::address) return;
  auto printed = parse_uri(l2cap::format_uri(s.address, s.psm, s.type));
  FUZZ_CHECK(printed, text);
  auto again = l2cap::parse(*printed, r);
  FUZZ_CHECK(again && again->address == s.address && again->psm == s.psm && again->type == s.type, text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string raw(reinterpret_cast<const char*>(data), size);
  const std::string text = "l2cap://" + raw;
  auto u = parse_uri(text);
  if (!u) {
    FUZZ_CHECK_ERROR(u.err());
    return 0;
  }
  for (auto r : {l2cap::role::listen, l2cap::role::connect}) {
    auto s = l2cap::parse(*u, r);
    if (s) check_spec(*s, r, text);
    else FUZZ_CHECK_ERROR(s.err());
  }
  return 0;
}
