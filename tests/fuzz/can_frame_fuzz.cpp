// cansend's frame text in, and back out as cansend and candump write it:
// parse_frame(format_frame(f)) == f, and format_frame is canonical.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "anysock/can/frame.hpp"
#include "frame_equal.hpp"
#include "fuzz_check.hpp"

using namespace anysock;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto f = can::parse_frame(text);
  if (!f) {
    FUZZ_CHECK_ERROR(f.err());
    return 0;
  }
  FUZZ_CHECK(f->len <= (f->fd ? CANFD_MAX_DLEN : CAN_MAX_DLEN), text);
  FUZZ_CHECK(!f->fd || can::valid_fd_length(f->len), text);
  const std::string canonical = can::format_frame(*f);
  auto again = can::parse_frame(canonical);
  FUZZ_CHECK(again.ok(), canonical);
  FUZZ_CHECK(fuzz::same_frame(*again, *f), canonical);
  FUZZ_CHECK(can::format_frame(*again) == canonical, canonical);

  const std::string line = can::format_candump(*f, "vcan0");
  FUZZ_CHECK(fuzz::one_line(line), line);
  FUZZ_CHECK(line.starts_with("  vcan0  " + canonical.substr(0, canonical.find('#'))), line);

  // Through the kernel's structure and back, as a send and a receive do.
  canfd_frame k{};
  const std::size_t mtu = can::to_kernel(*f, k);
  FUZZ_CHECK(mtu == (f->fd ? CANFD_MTU : CAN_MTU), canonical);
  FUZZ_CHECK(fuzz::same_frame(can::from_kernel(&k, mtu), *f), canonical);
  return 0;
}
