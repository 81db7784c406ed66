/* The smallest blocking SocketCAN echo responder: the baseline anysock's
 * can:// echo is measured against at one request in flight (bench/
 * kernel_suite.py). read() a request frame, rewrite its ID, write() it.
 * Classic CAN, standard (11-bit) IDs only.
 *
 *   can_echo IFACE RX_ID TX_ID     (IDs in hex, as can-utils writes them)
 *                                  prints "listening IFACE" when ready
 */
#include <linux/can.h>
#include <linux/can/raw.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s IFACE RX_ID TX_ID (hex)\n", argv[0]);
    return 2;
  }
  char *end1, *end2;
  unsigned long rx = strtoul(argv[2], &end1, 16), tx = strtoul(argv[3], &end2, 16);
  if (*end1 || *end2 || rx > CAN_SFF_MASK || tx > CAN_SFF_MASK) {
    fprintf(stderr, "IDs must be 11-bit hex (000-7FF): %s %s\n", argv[2], argv[3]);
    return 2;
  }
  int s = socket(PF_CAN, SOCK_RAW, CAN_RAW);
  struct sockaddr_can addr = {.can_family = AF_CAN, .can_ifindex = (int)if_nametoindex(argv[1])};
  if (s < 0 || addr.can_ifindex == 0) {
    perror(argv[1]);
    return 3;
  }
  /* Only the requests: not our own replies, not remote or error frames. */
  struct can_filter f = {.can_id = (canid_t)rx, .can_mask = CAN_EFF_FLAG | CAN_RTR_FLAG | CAN_SFF_MASK};
  if (setsockopt(s, SOL_CAN_RAW, CAN_RAW_FILTER, &f, sizeof f) < 0 ||
      bind(s, (struct sockaddr *)&addr, sizeof addr) < 0) {
    perror("can bind");
    return 3;
  }
  printf("listening %s\n", argv[1]);
  fflush(stdout);
  struct can_frame frame;
  for (;;) {
    ssize_t n = read(s, &frame, sizeof frame);
    if (n != (ssize_t)sizeof frame) {
      perror("read");
      return 3;
    }
    frame.can_id = (canid_t)tx;
    if (write(s, &frame, sizeof frame) != (ssize_t)sizeof frame) {
      perror("write");
      return 3;
    }
  }
}
