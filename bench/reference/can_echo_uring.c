/* A CAN echo responder that sleeps in io_uring_enter and nowhere else: one
 * system call a round trip (it submits the reply and the next receive and
 * waits for that receive), where the blocking responder (can_echo.c) makes
 * two and an epoll loop (can_echo_epoll.c) three. bench/kernel_suite.py
 * runs it to tell whether the system-call count is what separates an event
 * loop from a blocking read at one request in flight.
 * Classic CAN, standard (11-bit) IDs only.
 *
 *   can_echo_uring IFACE RX_ID TX_ID   (IDs in hex, as can-utils writes them)
 *                                      prints "listening IFACE" when ready
 *
 * The fastest setup of those tried in the guest: task work deferred to the
 * waiting call (DEFER_TASKRUN), the receive armed without a first try
 * (POLL_FIRST: right after a reply the next request cannot be there yet),
 * and no completion for a reply that went out (CQE_SKIP_SUCCESS), so the
 * wait ends only for the next request. */
#define _GNU_SOURCE /* struct mmsghdr, which can_request_socket.h uses */
#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <string.h>

#include "can_request_socket.h"

enum { request = 1, reply = 2 };

static void queue_receive(struct io_uring *ring, int s, struct can_frame *frame) {
  struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
  io_uring_prep_recv(sqe, s, frame, sizeof *frame, 0);
  sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
  sqe->user_data = request;
}

int main(int argc, char **argv) {
  canid_t tx;
  int s = open_request_socket(argc, argv, SOCK_RAW, &tx);
  struct io_uring ring;
  struct io_uring_params params;
  memset(&params, 0, sizeof params);
  params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  int r = io_uring_queue_init_params(8, &ring, &params);
  if (r == -EINVAL) { /* before Linux 6.1: no deferred task work */
    memset(&params, 0, sizeof params);
    r = io_uring_queue_init_params(8, &ring, &params);
  }
  if (r < 0) {
    fprintf(stderr, "io_uring setup: %s (needs Linux 5.19 or later)\n", strerror(-r));
    return 3;
  }
  printf("listening %s\n", argv[1]);
  fflush(stdout);

  struct can_frame in, out;
  queue_receive(&ring, s, &in);
  for (;;) {
    r = io_uring_submit_and_wait(&ring, 1);
    if (r < 0 && r != -EINTR) {
      fprintf(stderr, "io_uring_enter: %s\n", strerror(-r));
      return 3;
    }
    struct io_uring_cqe *cqe;
    unsigned head, seen = 0;
    int got = 0;
    io_uring_for_each_cqe(&ring, head, cqe) {
      ++seen;
      if (cqe->res < 0) {
        fprintf(stderr, "%s: %s\n", cqe->user_data == request ? "receive" : "send", strerror(-cqe->res));
        return 3;
      }
      if (cqe->user_data == request) got = 1;
    }
    io_uring_cq_advance(&ring, seen);
    if (!got) continue;
    out = in;  /* the reply goes out within the next submit, before `in` is read into again */
    out.can_id = tx;
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
    io_uring_prep_send(sqe, s, &out, sizeof out, 0);
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    sqe->user_data = reply;
    queue_receive(&ring, s, &in);
  }
}
