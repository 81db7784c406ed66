// tcp:// options and address: the input is what follows "tcp://".
#include <cstddef>
#include <cstdint>
#include <string>

#include "anysock/tcp/config.hpp"
#include "fuzz_check.hpp"

using namespace anysock;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto u = fuzz::parse_after("tcp://", data, size);
  if (!u) return 0;
  const std::string& text = u->text;
  auto spec = tcp::parse(*u);
  if (!spec) {
    FUZZ_CHECK_ERROR(spec.err());
    return 0;
  }
  auto hp = split_host_port(*u, "");
  FUZZ_CHECK(hp.ok() && hp->host == spec->host && hp->port == spec->port, text);
  FUZZ_CHECK(spec->opts.backlog >= 1 && spec->opts.backlog <= 65535, text);
  FUZZ_CHECK(u->path.empty() || u->path == "/", text);
  return 0;
}
