// One socketcand message (the text between `<` and `>`), either way: what a
// client sends a server and what a server sends a client. Whatever parses is
// written back in canonical form, and that form reads back to itself.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "anysock/can/socketcand.hpp"
#include "frame_equal.hpp"
#include "fuzz_check.hpp"

using namespace anysock;
namespace sc = anysock::can::socketcand;

namespace {

// The inner text of the one message in `wire`, as a framer hands it out.
std::string inner(const std::string& wire) {
  sc::framer f;
  f.feed(wire);
  auto m = f.next();
  FUZZ_CHECK(m && m->ok(), wire);
  std::string text(**m);
  FUZZ_CHECK(!f.next(), wire);
  return text;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view message(reinterpret_cast<const char*>(data), size);
  auto c = sc::parse(message);
  if (!c) {
    FUZZ_CHECK_ERROR(c.err());
    FUZZ_CHECK(c.err().code == make_error_code(errc::unsupported) || c.err().code == make_error_code(errc::bad_option),
               c.err().message);
    return 0;
  }
  FUZZ_CHECK(c->f.len <= (c->f.fd ? CANFD_MAX_DLEN : CAN_MAX_DLEN), message);
  FUZZ_CHECK(c->time.usec < 1000000, message);
  std::string wire;
  if (!sc::append(wire, *c)) {
    FUZZ_CHECK(c->k == sc::kind::send && c->f.error(), message);  // error frames cannot be sent
    return 0;
  }
  FUZZ_CHECK(wire.starts_with("< ") && wire.ends_with(" >"), wire);
  auto again = sc::parse(inner(wire));
  FUZZ_CHECK(again.ok(), wire);
  FUZZ_CHECK(again->k == c->k, wire);
  std::string wire2;
  FUZZ_CHECK(sc::append(wire2, *again), wire);
  FUZZ_CHECK(wire2 == wire, wire + " became " + wire2);

  if (c->k == sc::kind::frame || c->k == sc::kind::send) {
    // What we write carries the frame whole, except bytes beyond what a
    // frame of its kind can carry (cut, as the header says).
    FUZZ_CHECK(again->f.id == c->f.id && again->f.fd == c->f.fd, wire);
    if (c->k == sc::kind::frame) {
      FUZZ_CHECK(again->time.sec == c->time.sec && again->time.usec == c->time.usec, wire);
      // The BCM state's spaced form reads back as the same frame.
      const std::string bcm = sc::format_frame_bcm(c->f, c->time);
      auto b = sc::parse(inner(bcm));
      FUZZ_CHECK(b.ok() && b->k == sc::kind::frame, bcm);
      FUZZ_CHECK(fuzz::same_frame(b->f, again->f), bcm + " vs " + wire);
    }
  }
  return 0;
}
