// What a CAN_RAW read returns, from whatever is on the bus: any bytes of
// CAN_MTU or CANFD_MTU decode to a frame that is valid and survives the way
// back to the kernel and into text.
#include <cstddef>
#include <cstdint>
#include <string>

#include "anysock/can/frame.hpp"
#include "frame_equal.hpp"
#include "fuzz_check.hpp"

using namespace anysock;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size != CAN_MTU && size != CANFD_MTU) return -1;  // the kernel hands out nothing else
  const can::frame f = can::from_kernel(data, size);
  FUZZ_CHECK(f.fd == (size == CANFD_MTU), "mtu");
  FUZZ_CHECK(f.len <= (f.fd ? CANFD_MAX_DLEN : CAN_MAX_DLEN), "len");
  FUZZ_CHECK(f.len8_dlc == 0 || (!f.fd && f.len == CAN_MAX_DLEN && f.len8_dlc > 8 && f.len8_dlc <= 15), "len8_dlc");

  canfd_frame k{};
  const std::size_t mtu = can::to_kernel(f, k);
  FUZZ_CHECK(mtu == size, "mtu back");
  FUZZ_CHECK(fuzz::same_frame(can::from_kernel(&k, mtu), f), "kernel round trip");

  const std::string line = can::format_candump(f, "can0");
  FUZZ_CHECK(fuzz::one_line(line), line);
  // Its text reads back as the same frame, where the text can say it all:
  // cansend's syntax has no lengths an FD frame cannot have, and no remote FD.
  if (f.fd && (!can::valid_fd_length(f.len) || f.remote())) return 0;
  const std::string text = can::format_frame(f);
  auto back = can::parse_frame(text);
  FUZZ_CHECK(back.ok(), text);
  // Identifier bits beyond what the frame type uses are not frames' content.
  can::frame want = f;
  want.id = f.error() ? (f.id & (CAN_ERR_FLAG | CAN_ERR_MASK)) | (f.id & CAN_RTR_FLAG)
                      : (f.extended() ? (f.id & (CAN_EFF_FLAG | CAN_RTR_FLAG | CAN_EFF_MASK))
                                      : (f.id & (CAN_RTR_FLAG | CAN_SFF_MASK)));
  FUZZ_CHECK(fuzz::same_frame(*back, want), text);
  return 0;
}
