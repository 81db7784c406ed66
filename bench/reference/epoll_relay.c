/* The user-space limit for a TCP relay on this machine: one thread,
 * level-triggered epoll, non-blocking sockets, a fixed 64 KiB buffer per
 * direction. Each accepted client gets its own connection to the upstream;
 * bytes go both ways. A read fills the direction's buffer and is written on
 * at once; what the destination would not take stays there, and the source
 * is not read again (EPOLLOUT on the destination instead) until it drained.
 * EOF from one side is passed on as shutdown(SHUT_WR) to the other; both
 * sockets close once both directions ended, or at once on an error.
 * A reference for `bench/bridge_suite.py`, not part of anysock.
 *   epoll_relay LISTEN_PORT UPSTREAM_HOST UPSTREAM_PORT
 * Listens on [::1] (0: a free port; prints "listening URI" like epoll_echo);
 * UPSTREAM_HOST is an IPv6 literal, with or without brackets ([::1]). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

enum { BUF = 65536 };

struct pair;
struct end { /* what epoll hands back: which pair, which of its sockets */
  struct pair *p;
  int i; /* 0: the client, 1: the upstream */
};
struct dir { /* bytes read from fd[k], not yet written to fd[1 - k] */
  size_t off, len;
  int eof;  /* the source ended */
  int done; /* ... and its end was passed on: shutdown(SHUT_WR) */
  char buf[BUF];
};
struct pair {
  struct end ends[2];
  int fd[2];
  unsigned reg[2]; /* events registered for fd[i]; 0: not in the epoll set */
  int connecting;  /* the upstream connect is in flight */
  int dead;
  struct pair *next_dead;
  struct dir d[2]; /* d[0]: client -> upstream, d[1]: upstream -> client */
};

static int ep;
static struct pair *graveyard; /* closed this batch, freed after it: the
                                  other socket may be later in the batch */

static int listen_on(int port) {
  int fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0), on = 1, off = 0;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
  struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = in6addr_loopback};
  if (bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 4096)) {
    perror("epoll_relay: bind/listen");
    exit(3);
  }
  socklen_t l = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &l);
  printf("listening tcp://[::1]:%d\n", ntohs(a.sin6_port));
  fflush(stdout);
  return fd;
}

static void kill_pair(struct pair *p) {
  for (int i = 0; i < 2; ++i)
    if (p->fd[i] >= 0) close(p->fd[i]); /* also leaves the epoll set */
  p->fd[0] = p->fd[1] = -1;
  p->dead = 1;
  p->next_dead = graveyard;
  graveyard = p;
}

/* What fd[i] waits for: input while its direction's buffer is empty and the
 * source goes on; output while the other direction holds bytes for it.
 * A socket that waits for nothing leaves the epoll set, so that a HUP
 * (level-triggered, always reported) cannot spin while it is held back. */
static void update(struct pair *p, int i) {
  unsigned want;
  if (p->connecting)
    want = i == 1 ? EPOLLOUT : 0;
  else
    want = (p->d[i].len == 0 && !p->d[i].eof ? EPOLLIN : 0) | (p->d[1 - i].len ? EPOLLOUT : 0);
  if (want == p->reg[i]) return;
  struct epoll_event e = {.events = want, .data.ptr = &p->ends[i]};
  epoll_ctl(ep, want == 0 ? EPOLL_CTL_DEL : p->reg[i] == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, p->fd[i], &e);
  p->reg[i] = want;
}

/* Writes what d[k] holds to fd[1 - k]; passes the end on once it drained.
 * -1 on an error. */
static int flush(struct pair *p, int k) {
  struct dir *d = &p->d[k];
  if (d->len) {
    ssize_t w = write(p->fd[1 - k], d->buf + d->off, d->len - d->off);
    if (w < 0) return errno == EAGAIN ? 0 : -1;
    d->off += (size_t)w;
    if (d->off < d->len) return 0;
    d->off = d->len = 0;
  }
  if (d->eof && !d->done) {
    shutdown(p->fd[1 - k], SHUT_WR);
    d->done = 1;
  }
  return 0;
}

/* One read from fd[k] into d[k] (empty), written on at once. */
static int pump(struct pair *p, int k) {
  struct dir *d = &p->d[k];
  ssize_t r = read(p->fd[k], d->buf, BUF);
  if (r < 0) return errno == EAGAIN ? 0 : -1;
  if (r == 0)
    d->eof = 1;
  else
    d->len = (size_t)r;
  return flush(p, k);
}

static void accept_all(int lfd, const struct sockaddr_in6 *up) {
  int fd, on = 1;
  while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
    int u = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct pair *p = u < 0 ? NULL : malloc(sizeof *p);
    if (!p) {
      if (u >= 0) close(u);
      close(fd);
      continue;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    setsockopt(u, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    p->fd[0] = fd;
    p->fd[1] = u;
    for (int i = 0; i < 2; ++i) {
      p->ends[i] = (struct end){p, i};
      p->reg[i] = 0;
      p->d[i].off = p->d[i].len = 0;
      p->d[i].eof = p->d[i].done = 0;
    }
    p->dead = 0;
    p->connecting = 0;
    if (connect(u, (const struct sockaddr *)up, sizeof *up) < 0) {
      if (errno != EINPROGRESS) {
        kill_pair(p);
        continue;
      }
      p->connecting = 1;
    }
    update(p, 0);
    update(p, 1);
  }
}

static void on_event(struct end *e, unsigned ev) {
  struct pair *p = e->p;
  int i = e->i;
  if (p->dead) return;
  if (ev & EPOLLERR) {
    kill_pair(p);
    return;
  }
  if (p->connecting) { /* only the upstream is registered, for EPOLLOUT */
    int err = 0;
    socklen_t l = sizeof err;
    if (getsockopt(p->fd[1], SOL_SOCKET, SO_ERROR, &err, &l) || err) {
      kill_pair(p);
      return;
    }
    p->connecting = 0;
  } else {
    if ((ev & (EPOLLIN | EPOLLHUP)) && p->d[i].len == 0 && !p->d[i].eof && pump(p, i)) {
      kill_pair(p);
      return;
    }
    if ((ev & (EPOLLOUT | EPOLLHUP)) && p->d[1 - i].len && flush(p, 1 - i)) {
      kill_pair(p);
      return;
    }
    if (p->d[0].done && p->d[1].done) {
      kill_pair(p);
      return;
    }
  }
  update(p, 0);
  update(p, 1);
}

static void usage(void) {
  fprintf(stderr, "usage: epoll_relay LISTEN_PORT UPSTREAM_HOST UPSTREAM_PORT  (LISTEN_PORT 0: a free port; "
                  "UPSTREAM_HOST an IPv6 literal such as [::1])\n");
  exit(2);
}

static long port_arg(const char *s) { /* -1 unless 0..65535 */
  char *end;
  long v = strtol(s, &end, 10);
  return *s && !*end && v >= 0 && v <= 65535 ? v : -1;
}

int main(int argc, char **argv) {
  if (argc != 4) usage();
  char host[INET6_ADDRSTRLEN + 2];
  const char *h = argv[2];
  size_t hl = strlen(h);
  if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
    h += 1;
    hl -= 2;
  }
  if (hl >= sizeof host) usage();
  memcpy(host, h, hl);
  host[hl] = '\0';
  long port = port_arg(argv[1]), up_port = port_arg(argv[3]);
  struct sockaddr_in6 up = {.sin6_family = AF_INET6, .sin6_port = htons((unsigned short)up_port)};
  if (port < 0 || up_port <= 0 || inet_pton(AF_INET6, host, &up.sin6_addr) != 1) usage();

  struct rlimit rl; /* two sockets a client: 1000 clients need more than 1024 */
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  signal(SIGPIPE, SIG_IGN); /* a write to a reset peer fails with EPIPE instead */

  int lfd = listen_on((int)port);
  ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  struct epoll_event events[256];
  for (;;) {
    int n = epoll_wait(ep, events, 256, -1);
    for (int i = 0; i < n; ++i) {
      if (!events[i].data.ptr)
        accept_all(lfd, &up);
      else
        on_event(events[i].data.ptr, events[i].events);
    }
    while (graveyard) {
      struct pair *p = graveyard;
      graveyard = p->next_dead;
      free(p);
    }
  }
}
