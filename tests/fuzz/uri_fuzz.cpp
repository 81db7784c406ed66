// parse_uri and the option helpers every scheme builds on.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "anysock/uri.hpp"
#include "fuzz_check.hpp"

using namespace anysock;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto u = parse_uri(text);
  if (!u) {
    FUZZ_CHECK_ERROR(u.err());
    return 0;
  }
  FUZZ_CHECK(u->text == text, u->text);
  FUZZ_CHECK(!u->scheme.empty() && !u->authority.empty(), text);
  for (char c : u->scheme) FUZZ_CHECK(!std::isupper(static_cast<unsigned char>(c)), u->scheme);
  FUZZ_CHECK(u->path.empty() || u->path.front() == '/', u->path);
  for (const auto& [key, value] : u->query) {
    FUZZ_CHECK(!key.empty(), text);
    FUZZ_CHECK(u->option(key).has_value(), key);
    if (auto b = bool_option(*u, key, false); !b) FUZZ_CHECK_ERROR(b.err());
    auto n = uint_option(*u, key, 0, 1, 1000);
    if (n) FUZZ_CHECK(*n >= 1 && *n <= 1000, value);
    else FUZZ_CHECK_ERROR(n.err());
  }
  if (auto ok = check_options(*u, {"a", "rx", "tx"}); !ok) FUZZ_CHECK_ERROR(ok.err());

  auto hp = split_host_port(*u, "x://[::1]:1");
  if (!hp) {
    FUZZ_CHECK_ERROR(hp.err());
    return 0;
  }
  FUZZ_CHECK(!hp->host.empty(), text);
  // host:port written back reads as the same host and port (join_host_port
  // brackets IPv6 literals only, so a host with brackets or a '/' is left out).
  if (hp->host.find_first_of("[]/") != std::string::npos) return 0;
  auto again = parse_uri("x://" + join_host_port(hp->host, hp->port));
  FUZZ_CHECK(again.ok(), join_host_port(hp->host, hp->port));
  auto hp2 = split_host_port(*again, "x://[::1]:1");
  FUZZ_CHECK(hp2.ok(), again->text);
  FUZZ_CHECK(hp2->host == hp->host && hp2->port == hp->port, again->text);
  return 0;
}
