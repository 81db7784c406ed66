/* Shared by the CAN reference responders (can_echo.c, can_echo_epoll.c):
 * their command line and their socket, so the two differ only in how they
 * wait and read. Classic CAN, standard (11-bit) IDs only. */
#ifndef ANYSOCK_BENCH_CAN_REQUEST_SOCKET_H
#define ANYSOCK_BENCH_CAN_REQUEST_SOCKET_H

#include <linux/can.h>
#include <linux/can/raw.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

/* Parses IFACE RX_ID TX_ID (hex, as can-utils writes them) and opens a
 * CAN_RAW socket of `type` (SOCK_RAW, maybe | SOCK_NONBLOCK) on IFACE that
 * hears only the requests: not our own replies, not remote or error frames.
 * Stores the reply ID in *tx. Exits 2 on bad arguments, 3 on socket errors. */
static int open_request_socket(int argc, char **argv, int type, canid_t *tx) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s IFACE RX_ID TX_ID (hex)\n", argv[0]);
    exit(2);
  }
  char *end1, *end2;
  unsigned long rx = strtoul(argv[2], &end1, 16), reply = strtoul(argv[3], &end2, 16);
  if (*end1 || *end2 || rx > CAN_SFF_MASK || reply > CAN_SFF_MASK) {
    fprintf(stderr, "IDs must be 11-bit hex (000-7FF): %s %s\n", argv[2], argv[3]);
    exit(2);
  }
  int s = socket(PF_CAN, type, CAN_RAW);
  struct sockaddr_can addr = {.can_family = AF_CAN, .can_ifindex = (int)if_nametoindex(argv[1])};
  if (s < 0 || addr.can_ifindex == 0) {
    perror(argv[1]);
    exit(3);
  }
  struct can_filter f = {.can_id = (canid_t)rx, .can_mask = CAN_EFF_FLAG | CAN_RTR_FLAG | CAN_SFF_MASK};
  if (setsockopt(s, SOL_CAN_RAW, CAN_RAW_FILTER, &f, sizeof f) < 0 ||
      bind(s, (struct sockaddr *)&addr, sizeof addr) < 0) {
    perror("can bind");
    exit(3);
  }
  *tx = (canid_t)reply;
  return s;
}

#endif
