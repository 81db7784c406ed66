// What every fuzz target asserts besides "no crash, no sanitizer report": a
// failed check prints what broke and aborts, so libFuzzer keeps the input.
#pragma once

#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "anysock/error.hpp"
#include "anysock/uri.hpp"

namespace anysock::fuzz {

[[noreturn]] inline void fail(const char* what, std::string_view detail, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: check failed: %s: %.*s\n", file, line, what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

// The promise to users: an error is one non-empty line (no byte that ends a
// line or moves a terminal's cursor reaches a log from an input).
inline bool one_line(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7F) return false;
  return true;
}

}  // namespace anysock::fuzz

#define FUZZ_CHECK(cond, detail) \
  ((cond) ? (void)0 : ::anysock::fuzz::fail(#cond, (detail), __FILE__, __LINE__))

// An error from a parser: one line, and a code of ours.
#define FUZZ_CHECK_ERROR(e)                                                                  \
  do {                                                                                       \
    FUZZ_CHECK(::anysock::fuzz::one_line((e).message), (e).message);                         \
    FUZZ_CHECK((e).code.category() == ::anysock::anysock_category(), (e).code.message());    \
  } while (0)

namespace anysock::fuzz {

// PREFIX + the input as a URI (the scheme's targets fuzz what follows it),
// or nullopt once its error has been checked.
inline std::optional<uri> parse_after(std::string_view prefix, const std::uint8_t* data, std::size_t size) {
  auto u = parse_uri(std::string(prefix) + std::string(reinterpret_cast<const char*>(data), size));
  if (u) return std::move(u).value();
  FUZZ_CHECK_ERROR(u.err());
  return std::nullopt;
}

}  // namespace anysock::fuzz
