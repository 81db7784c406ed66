/* Shared by the CAN references (can_echo*.c, can_relay.c): their command
 * line, their socket and their receive batch, so they differ only in how
 * they wait, read and pass frames on. Classic CAN, standard (11-bit) IDs
 * only. */
#ifndef ANYSOCK_BENCH_CAN_REQUEST_SOCKET_H
#define ANYSOCK_BENCH_CAN_REQUEST_SOCKET_H

#include <linux/can.h>
#include <linux/can/raw.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* An 11-bit ID in hex, as can-utils writes it; exits 2 if it is not one. */
static inline canid_t parse_sff_id(const char *text) {
  char *end;
  unsigned long id = strtoul(text, &end, 16);
  if (*end || !*text || id > CAN_SFF_MASK) {
    fprintf(stderr, "IDs must be 11-bit hex (000-7FF): %s\n", text);
    exit(2);
  }
  return (canid_t)id;
}

/* A CAN_RAW socket of `type` (SOCK_RAW, maybe | SOCK_NONBLOCK) on IFACE that
 * hears only data frames of ID `rx`: not its own, not remote or error frames.
 * Exits 3 on socket errors. */
static inline int open_filtered_socket(const char *iface, canid_t rx, int type) {
  int s = socket(PF_CAN, type, CAN_RAW);
  struct sockaddr_can addr = {.can_family = AF_CAN, .can_ifindex = (int)if_nametoindex(iface)};
  if (s < 0 || addr.can_ifindex == 0) {
    perror(iface);
    exit(3);
  }
  struct can_filter f = {.can_id = rx, .can_mask = CAN_EFF_FLAG | CAN_RTR_FLAG | CAN_SFF_MASK};
  if (setsockopt(s, SOL_CAN_RAW, CAN_RAW_FILTER, &f, sizeof f) < 0 ||
      bind(s, (struct sockaddr *)&addr, sizeof addr) < 0) {
    perror("can bind");
    exit(3);
  }
  return s;
}

/* Parses IFACE RX_ID TX_ID and opens the socket that hears the requests.
 * Stores the reply ID in *tx. Exits 2 on bad arguments, 3 on socket errors. */
static inline int open_request_socket(int argc, char **argv, int type, canid_t *tx) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s IFACE RX_ID TX_ID (hex)\n", argv[0]);
    exit(2);
  }
  canid_t rx = parse_sff_id(argv[2]);
  *tx = parse_sff_id(argv[3]);
  return open_filtered_socket(argv[1], rx, type);
}

/* A recvmmsg batch of classic frames: msgs[i] reads into frames[i]. */
static inline void init_batch(struct can_frame *frames, struct iovec *iov, struct mmsghdr *msgs, int n) {
  memset(msgs, 0, sizeof *msgs * (size_t)n);
  for (int i = 0; i < n; ++i) {
    iov[i] = (struct iovec){&frames[i], sizeof frames[i]};
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
}

#endif
