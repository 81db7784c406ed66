/* The user-space limit for a CAN bridge: one thread, one CAN_RAW socket per
 * interface, edge-triggered epoll, frames read in batches with recvmmsg and
 * written on one by one, IDs kept. What `anysock bridge can://A?rx=X
 * can://B?rx=Y` does, without anything else (bench/kernel_suite.py compares
 * the two, and both with the kernel's own gateway, cangw). Each socket hears
 * only its data frames of one 11-bit ID, never its own, so nothing loops.
 * A full transmit queue (ENOBUFS) is waited out with poll(); the relay
 * loses no frame. Classic CAN only.
 *
 *   can_relay IF_A ID_A IF_B ID_B   (IDs in hex: ID_A frames A -> B, ID_B B -> A)
 *                                   prints "listening IF_A IF_B" when ready
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "can_request_socket.h"

enum { batch = 16 };

static void write_frame(int s, const struct can_frame *f) {
  for (;;) {
    if (write(s, f, sizeof *f) == (ssize_t)sizeof *f) return;
    if (errno == ENOBUFS || errno == EAGAIN) {
      struct pollfd p = {.fd = s, .events = POLLOUT};
      poll(&p, 1, 10); /* ENOBUFS raises no POLLOUT edge on every kernel: retry at least every 10 ms */
    } else if (errno != EINTR) {
      perror("can_relay: write");
      exit(3);
    }
  }
}

/* Reads s empty, each frame on to d. */
static void relay(int s, int d, struct mmsghdr *msgs, struct can_frame *frames) {
  int n;
  do {
    n = recvmmsg(s, msgs, batch, 0, NULL);
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      perror("can_relay: recvmmsg");
      exit(3);
    }
    for (int i = 0; i < n; ++i) write_frame(d, &frames[i]);
  } while (n == batch || (n < 0 && errno == EINTR)); /* a full batch: more may be queued */
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s IF_A ID_A IF_B ID_B (IDs in hex)\n", argv[0]);
    return 2;
  }
  int side[2] = {open_filtered_socket(argv[1], parse_sff_id(argv[2]), SOCK_RAW | SOCK_NONBLOCK),
                 open_filtered_socket(argv[3], parse_sff_id(argv[4]), SOCK_RAW | SOCK_NONBLOCK)};
  int ep = epoll_create1(0);
  for (int i = 0; i < 2; ++i) {
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u32 = (unsigned)i};
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, side[i], &ev) < 0) {
      perror("can_relay: epoll");
      return 3;
    }
  }
  struct can_frame frames[batch];
  struct iovec iov[batch];
  struct mmsghdr msgs[batch];
  init_batch(frames, iov, msgs, batch);
  printf("listening %s %s\n", argv[1], argv[3]);
  fflush(stdout);
  for (;;) {
    struct epoll_event out[2];
    int n = epoll_wait(ep, out, 2, -1);
    if (n < 0 && errno != EINTR) {
      perror("can_relay: epoll_wait");
      return 3;
    }
    for (int i = 0; i < n; ++i) {
      int k = (int)out[i].data.u32;
      relay(side[k], side[1 - k], msgs, frames);
    }
  }
}
