// A socketcand byte stream from a stranger, in arbitrary pieces: the same
// messages come out however the stream is cut, memory stays within the
// limit, and every message parses or fails with one line.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "anysock/can/socketcand.hpp"
#include "fuzz_check.hpp"

using namespace anysock;
namespace sc = anysock::can::socketcand;

namespace {

constexpr std::size_t limit = 64;  // small, so overlong messages are common

// Feeds `stream` in pieces whose sizes come from `cuts`, taking messages as
// they complete; returns them as text ("!" marks an overlong one).
std::vector<std::string> run(std::string_view stream, std::string_view cuts) {
  sc::framer f(limit);
  std::vector<std::string> out;
  std::size_t at = 0, k = 0;
  while (at < stream.size()) {
    std::size_t n = cuts.empty() ? stream.size() : 1 + static_cast<unsigned char>(cuts[k++ % cuts.size()]) % 97;
    n = std::min(n, stream.size() - at);
    f.feed(stream.substr(at, n));
    at += n;
    while (auto m = f.next()) {
      if (!*m) {
        FUZZ_CHECK_ERROR(m->err());
        out.emplace_back("!");
        continue;
      }
      const std::string_view text = **m;
      FUZZ_CHECK(text.size() <= limit - 2, text);
      FUZZ_CHECK(text.find('>') == std::string_view::npos, text);
      if (auto c = sc::parse(text); !c) FUZZ_CHECK_ERROR(c.err());
      out.emplace_back(text);
    }
    // Nothing complete is left, so what is held is the unfinished message.
    FUZZ_CHECK(f.buffered() <= limit, std::to_string(f.buffered()));
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // The first 8 bytes (when there are more) say where to cut the rest.
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  const std::size_t split = size > 8 ? 8 : 0;
  const std::string_view cuts = all.substr(0, split), stream = all.substr(split);
  const auto whole = run(stream, {});
  const auto pieces = run(stream, cuts);
  FUZZ_CHECK(whole == pieces, stream);
  return 0;
}
