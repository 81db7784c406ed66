/* The leanest event-loop SocketCAN echo responder: what any responder that
 * also serves other sockets on its thread (anysock, an Asio or libuv
 * program) can at best do, beside the blocking can_echo.c (bench/
 * kernel_suite.py). Non-blocking socket, epoll edge-triggered, frames read
 * in batches with recvmmsg; a batch that comes back short met the empty
 * socket, so it waits: at one request in flight three system calls a round
 * trip (epoll_wait, recvmmsg, write) where the blocking responder makes two.
 * Classic CAN, standard (11-bit) IDs only.
 *
 *   can_echo_epoll IFACE RX_ID TX_ID     (IDs in hex, as can-utils writes them)
 *                                        prints "listening IFACE" when ready
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/can.h>
#include <linux/can/raw.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum { batch = 16 };

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
  int s = socket(PF_CAN, SOCK_RAW | SOCK_NONBLOCK, CAN_RAW);
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
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.fd = s};
  if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) < 0) {
    perror("epoll");
    return 3;
  }
  struct can_frame frames[batch];
  struct iovec iov[batch];
  struct mmsghdr msgs[batch];
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < batch; ++i) {
    iov[i] = (struct iovec){&frames[i], sizeof frames[i]};
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  printf("listening %s\n", argv[1]);
  fflush(stdout);
  for (;;) {
    struct epoll_event out;
    if (epoll_wait(ep, &out, 1, -1) < 0 && errno != EINTR) {
      perror("epoll_wait");
      return 3;
    }
    int n;
    do {
      n = recvmmsg(s, msgs, batch, 0, NULL);
      if (n < 0 && errno != EAGAIN && errno != EINTR) {
        perror("recvmmsg");
        return 3;
      }
      for (int i = 0; i < n; ++i) {
        frames[i].can_id = (canid_t)tx;
        if (write(s, &frames[i], sizeof frames[i]) != (ssize_t)sizeof frames[i]) {
          perror("write");
          return 3;
        }
      }
    } while (n == batch || (n < 0 && errno == EINTR)); /* a full batch: more may be queued */
  }
}
