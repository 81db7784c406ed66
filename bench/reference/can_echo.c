/* The smallest blocking SocketCAN echo responder: the baseline anysock's
 * can:// echo is measured against at one request in flight (bench/
 * kernel_suite.py). read() a request frame, rewrite its ID, write() it.
 * Classic CAN, standard (11-bit) IDs only.
 *
 *   can_echo IFACE RX_ID TX_ID     (IDs in hex, as can-utils writes them)
 *                                  prints "listening IFACE" when ready
 */
#define _GNU_SOURCE /* struct mmsghdr, which can_request_socket.h uses */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "can_request_socket.h"

int main(int argc, char **argv) {
  canid_t tx;
  int s = open_request_socket(argc, argv, SOCK_RAW, &tx);
  printf("listening %s\n", argv[1]);
  fflush(stdout);
  struct can_frame frame;
  for (;;) {
    ssize_t n = read(s, &frame, sizeof frame);
    if (n != (ssize_t)sizeof frame) {
      perror("read");
      return 3;
    }
    frame.can_id = tx;
    if (write(s, &frame, sizeof frame) != (ssize_t)sizeof frame) {
      perror("write");
      return 3;
    }
  }
}
