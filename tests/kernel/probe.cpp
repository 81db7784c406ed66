// anysock_kernel_probe can|bluetooth: exits 0 when this kernel lets us open a
// socket of that family (AF_CAN raw, AF_BLUETOOTH RFCOMM), else prints why
// and exits 1. run-kernel-tests.sh uses it to pick native or guest.
#include <linux/can.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>

int main(int argc, char** argv) {
  constexpr int btproto_rfcomm = 3;  // <bluetooth/rfcomm.h>, not needed otherwise
  std::string_view family = argc == 2 ? argv[1] : "";
  int fd = -1;
  if (family == "can") {
    fd = socket(PF_CAN, SOCK_RAW | SOCK_CLOEXEC, CAN_RAW);
  } else if (family == "bluetooth") {
    fd = socket(AF_BLUETOOTH, SOCK_STREAM | SOCK_CLOEXEC, btproto_rfcomm);
  } else {
    std::fprintf(stderr, "usage: anysock_kernel_probe can|bluetooth\n");
    return 2;
  }
  if (fd < 0) {
    std::printf("no %s sockets: %s\n", family == "can" ? "AF_CAN" : "AF_BLUETOOTH", std::strerror(errno));
    return 1;
  }
  close(fd);
  return 0;
}
