// socketcand:// as a client and as a bridge side reads it: the input is
// what follows "socketcand://".
#include <cstddef>
#include <cstdint>
#include <string>

#include "anysock/can/socketcand_uri.hpp"
#include "fuzz_check.hpp"

using namespace anysock;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto u = fuzz::parse_after("socketcand://", data, size);
  if (!u) return 0;
  const std::string& text = u->text;
  for (bool bridge : {false, true}) {
    auto r = can::socketcand::parse_remote(*u, bridge);
    if (!r) {
      FUZZ_CHECK_ERROR(r.err());
      continue;
    }
    FUZZ_CHECK(!r->host.empty() && r->port != 0, text);
    FUZZ_CHECK(!r->bus.empty() && r->bus.size() < 16 && r->bus.find('/') == std::string::npos, r->bus);
    // The bus name goes into `< open BUS >`: it must not end the message early.
    for (char c : r->bus) FUZZ_CHECK(c != '<' && c != '>' && c != ' ' && fuzz::one_line(std::string(1, c)), r->bus);
  }
  return 0;
}
