/* The user-space limit for an echo on this machine: one thread, epoll,
 * non-blocking sockets, one shared read buffer. Reads, writes back at once,
 * keeps only what the kernel would not take and stops reading that client
 * until it is flushed. A reference for `bench/suite.py`, not part of anysock.
 *   epoll_echo [PORT]   (0 or none: a free port; prints "listening URI") */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

struct conn {
  int fd;
  char *pending; /* bytes the kernel would not take yet */
  size_t len, off;
};

static int listen_on(int port) {
  int fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0), on = 1, off = 0;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
  struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = in6addr_loopback};
  if (bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 4096)) {
    perror("epoll_echo: bind/listen");
    exit(3);
  }
  socklen_t l = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &l);
  printf("listening tcp://[::1]:%d\n", ntohs(a.sin6_port));
  fflush(stdout);
  return fd;
}

static void drop(int ep, struct conn *c) {
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  free(c->pending);
  free(c);
}

int main(int argc, char **argv) {
  int lfd = listen_on(argc > 1 ? atoi(argv[1]) : 0);
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  static char buf[65536];
  struct epoll_event events[256];
  for (;;) {
    int n = epoll_wait(ep, events, 256, -1);
    for (int i = 0; i < n; ++i) {
      struct conn *c = events[i].data.ptr;
      if (!c) { /* the listener */
        int fd;
        while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
          int on = 1;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
          c = calloc(1, sizeof *c);
          c->fd = fd;
          struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
        }
        continue;
      }
      if (c->pending) { /* writable again: flush, then read again */
        ssize_t w = write(c->fd, c->pending + c->off, c->len - c->off);
        if (w < 0 && errno != EAGAIN) { drop(ep, c); continue; }
        if (w > 0) c->off += (size_t)w;
        if (c->off == c->len) {
          free(c->pending);
          c->pending = NULL;
          struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
          epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
        }
        continue;
      }
      ssize_t r = read(c->fd, buf, sizeof buf);
      if (r <= 0) {
        if (r < 0 && errno == EAGAIN) continue;
        drop(ep, c);
        continue;
      }
      ssize_t w = write(c->fd, buf, (size_t)r);
      if (w < 0 && errno != EAGAIN) { drop(ep, c); continue; }
      if (w < 0) w = 0;
      if (w < r) {
        c->len = (size_t)(r - w);
        c->off = 0;
        c->pending = malloc(c->len);
        memcpy(c->pending, buf + w, c->len);
        struct epoll_event e = {.events = EPOLLOUT, .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
      }
    }
  }
}
