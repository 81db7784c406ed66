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
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "can_request_socket.h"

enum { batch = 16 };

int main(int argc, char **argv) {
  canid_t tx;
  int s = open_request_socket(argc, argv, SOCK_RAW | SOCK_NONBLOCK, &tx);
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.fd = s};
  if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) < 0) {
    perror("epoll");
    return 3;
  }
  struct can_frame frames[batch];
  struct iovec iov[batch];
  struct mmsghdr msgs[batch];
  init_batch(frames, iov, msgs, batch);
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
        frames[i].can_id = tx;
        if (write(s, &frames[i], sizeof frames[i]) != (ssize_t)sizeof frames[i]) {
          perror("write");
          return 3;
        }
      }
    } while (n == batch || (n < 0 && errno == EINTR)); /* a full batch: more may be queued */
  }
}
