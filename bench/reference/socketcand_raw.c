/* A minimal socketcand server in raw mode: the reference anysock's socketcand
 * server is measured against. It has upstream socketcand's protocol and cost
 * per frame (github.com/linux-can/socketcand): one CAN_RAW socket per client,
 * one read of it and one write() to the client, so one TCP segment
 * (TCP_NODELAY), per frame, with no batching. But it does not fork: one blocking
 * process select()s over the listening socket, the clients and their CAN
 * sockets.
 *
 *   socketcand_raw PORT BUS [BUS...]   listens on 127.0.0.1:PORT (0: any),
 *                                      prints "listening on PORT" when ready
 *
 * Server "< hi >"; "< open BUS >" -> "< ok >" ("< error unknown bus >" and
 * close for a bus not named); "< rawmode >" -> "< ok >"; "< echo >" ->
 * "< echo >"; anything else -> "< error unknown command >". In raw mode:
 *   client: < send ID DLC B0 .. B7 >   (hex ID, decimal DLC, hex bytes)
 *   server: < frame ID SEC.USEC DATA >  (ID %03X or %08X, DATA unspaced hex)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/can.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

enum state { WANT_OPEN, WANT_RAWMODE, RAW };

struct client {
  int tcp, can;  /* can is -1 until raw mode */
  enum state state;
  unsigned ifindex;
  size_t len;    /* bytes in buf: the start of a message not yet complete */
  char buf[512];
};

static struct client *by_fd[FD_SETSIZE]; /* a client by its TCP or CAN socket */
static int maxfd;
static int nbuses;
static char **bus_names;
static unsigned *bus_index;

static void drop(struct client *c) {
  by_fd[c->tcp] = NULL;
  close(c->tcp);
  if (c->can >= 0) {
    by_fd[c->can] = NULL;
    close(c->can);
  }
  free(c);
}

/* Sends s in one write(); 0 (and the client dropped) if that fails. */
static int reply(struct client *c, const char *s, size_t len) {
  if (write(c->tcp, s, len) == (ssize_t)len) return 1;
  drop(c);
  return 0;
}
#define REPLY(c, lit) reply((c), (lit), sizeof(lit) - 1)

static int hex(const char *s, size_t maxlen, unsigned long *v) {
  size_t n = strlen(s);
  if (n == 0 || n > maxlen || strspn(s, "0123456789abcdefABCDEF") != n) return 0;
  *v = strtoul(s, NULL, 16);
  return 1;
}

/* "send ID DLC B0 ..." (tok[0] is "send") into f; 0 if malformed. */
static int parse_send(char **tok, int nt, struct can_frame *f) {
  unsigned long id, b;
  if (nt < 3 || !hex(tok[1], 8, &id)) return 0;
  if (strlen(tok[2]) != 1 || tok[2][0] < '0' || tok[2][0] > '8') return 0;
  memset(f, 0, sizeof *f);
  f->len = (unsigned char)(tok[2][0] - '0');
  if (nt != 3 + f->len) return 0;
  if (strlen(tok[1]) == 8 || id > CAN_SFF_MASK) {
    if (id > CAN_EFF_MASK) return 0;
    id |= CAN_EFF_FLAG;
  }
  f->can_id = (canid_t)id;
  for (int i = 0; i < f->len; i++) {
    if (!hex(tok[3 + i], 2, &b)) return 0;
    f->data[i] = (unsigned char)b;
  }
  return 1;
}

/* The client's CAN_RAW socket on its bus (own frames not received: the
 * default). 0 (and the client told and dropped) if it cannot be had. */
static int open_can(struct client *c) {
  struct sockaddr_can addr = {.can_family = AF_CAN, .can_ifindex = (int)c->ifindex};
  int one = 1, s = socket(PF_CAN, SOCK_RAW, CAN_RAW);
  if (s < 0 || s >= FD_SETSIZE || setsockopt(s, SOL_SOCKET, SO_TIMESTAMP, &one, sizeof one) < 0
      || bind(s, (struct sockaddr *)&addr, sizeof addr) < 0) {
    perror(s >= FD_SETSIZE ? "CAN socket beyond FD_SETSIZE" : "CAN socket");
    if (s >= 0) close(s);
    if (REPLY(c, "< error cannot open the CAN socket >")) drop(c);
    return 0;
  }
  c->can = s;
  by_fd[s] = c;
  if (s > maxfd) maxfd = s;
  return 1;
}

/* One message's text (between '<' and '>'); 0 if the client was dropped. */
static int command(struct client *c, char *text) {
  char *tok[12], *save = NULL;
  int nt = 0; /* 12: too many tokens for any command */
  for (char *t = strtok_r(text, " \t\r\n", &save); t && nt < 12; t = strtok_r(NULL, " \t\r\n", &save))
    tok[nt++] = t;
  if (nt == 1 && !strcmp(tok[0], "echo")) return REPLY(c, "< echo >");
  if (c->state == WANT_OPEN && nt == 2 && !strcmp(tok[0], "open")) {
    for (int i = 0; i < nbuses; i++)
      if (!strcmp(tok[1], bus_names[i])) {
        c->ifindex = bus_index[i];
        c->state = WANT_RAWMODE;
        return REPLY(c, "< ok >");
      }
    if (REPLY(c, "< error unknown bus >")) drop(c);
    return 0;
  }
  if (c->state == WANT_RAWMODE && nt == 1 && !strcmp(tok[0], "rawmode")) {
    /* Bound before "< ok >" (upstream binds after), so a client that has
     * its ok misses no frame sent after it. */
    if (!open_can(c)) return 0;
    c->state = RAW;
    return REPLY(c, "< ok >");
  }
  if (c->state == RAW && nt >= 1 && !strcmp(tok[0], "send")) {
    struct can_frame f;
    if (parse_send(tok, nt, &f)) { /* malformed: ignored, as upstream does */
      ssize_t w = write(c->can, &f, CAN_MTU); /* failed (ENOBUFS): lost, as upstream's */
      (void)w;
    }
    return 1;
  }
  return REPLY(c, "< error unknown command >");
}

/* MSG_DONTWAIT here and below: an fd select() saw readable may since have
 * been closed and reused by a new client's socket in the same round. */
static void on_tcp(struct client *c) {
  ssize_t n = recv(c->tcp, c->buf + c->len, sizeof c->buf - c->len, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    drop(c);
    return;
  }
  size_t len = c->len + (size_t)n, done = 0;
  for (;;) {
    char *lt = memchr(c->buf + done, '<', len - done), *gt;
    if (!lt) { done = len; break; }            /* bytes outside messages */
    if (!(gt = memchr(lt, '>', (size_t)(c->buf + len - lt)))) {
      done = (size_t)(lt - c->buf);            /* keep the split message */
      break;
    }
    *gt = '\0';
    done = (size_t)(gt + 1 - c->buf);
    if (!command(c, lt + 1)) return;
  }
  memmove(c->buf, c->buf + done, len - done);
  c->len = len - done;
  if (c->len == sizeof c->buf) c->len = 0;     /* longer than any message */
}

static void on_can(struct client *c) {
  struct can_frame f;
  union { char buf[CMSG_SPACE(sizeof(struct timeval))]; struct cmsghdr align; } ctl;
  struct iovec iov = {.iov_base = &f, .iov_len = sizeof f};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
  ssize_t n = recvmsg(c->can, &m, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n < 0) {
    perror("CAN read");
    drop(c);
    return;
  }
  if (n != CAN_MTU || (f.can_id & (CAN_ERR_FLAG | CAN_RTR_FLAG))) return;
  /* The receive time: the kernel's, from SO_TIMESTAMP in the same recvmsg()
   * (upstream asks for it with ioctl(SIOCGSTAMP), a second system call per
   * frame); gettimeofday() (vDSO) if it is missing. */
  struct timeval tv;
  struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
  if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_TIMESTAMP)
    memcpy(&tv, CMSG_DATA(cm), sizeof tv);
  else
    gettimeofday(&tv, NULL);
  char out[64];
  int len = (f.can_id & CAN_EFF_FLAG)
    ? sprintf(out, "< frame %08X %lld.%06ld ", (unsigned)(f.can_id & CAN_EFF_MASK), (long long)tv.tv_sec, (long)tv.tv_usec)
    : sprintf(out, "< frame %03X %lld.%06ld ", (unsigned)(f.can_id & CAN_SFF_MASK), (long long)tv.tv_sec, (long)tv.tv_usec);
  for (int i = 0; i < f.len && i < CAN_MAX_DLEN; i++) len += sprintf(out + len, "%02X", f.data[i]);
  len += sprintf(out + len, " >");
  reply(c, out, (size_t)len);
}

static void on_accept(int lfd) {
  int one = 1, fd = accept(lfd, NULL, NULL);
  if (fd < 0) {
    perror("accept");
    return;
  }
  if (fd >= FD_SETSIZE) { /* refused: select() cannot watch it */
    close(fd);
    return;
  }
  struct client *c = calloc(1, sizeof *c);
  if (!c || setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0) {
    perror("client");
    free(c);
    close(fd);
    return;
  }
  c->tcp = fd;
  c->can = -1;
  by_fd[fd] = c;
  if (fd > maxfd) maxfd = fd;
  REPLY(c, "< hi >");
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s PORT BUS [BUS...]\n", argv[0]);
    return 2;
  }
  nbuses = argc - 2;
  bus_names = argv + 2;
  bus_index = calloc((size_t)nbuses, sizeof *bus_index);
  for (int i = 0; bus_index && i < nbuses; i++)
    if (!(bus_index[i] = if_nametoindex(bus_names[i]))) {
      fprintf(stderr, "%s: no such interface\n", bus_names[i]);
      return 2;
    }
  signal(SIGPIPE, SIG_IGN); /* a write to a gone client fails: EPIPE */
  /* Up to FD_SETSIZE descriptors whatever the soft limit; beyond, refused. */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1])),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t salen = sizeof sa;
  int one = 1, lfd = socket(AF_INET, SOCK_STREAM, 0);
  if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0
      || bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, SOMAXCONN) < 0
      || getsockname(lfd, (struct sockaddr *)&sa, &salen) < 0) {
    perror("listen");
    return 1;
  }
  printf("listening on %u\n", (unsigned)ntohs(sa.sin_port));
  fflush(stdout);
  maxfd = lfd;
  for (;;) {
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(lfd, &rd);
    while (maxfd > lfd && !by_fd[maxfd]) maxfd--;
    for (int fd = 0; fd <= maxfd; fd++)
      if (by_fd[fd]) FD_SET(fd, &rd);
    if (select(maxfd + 1, &rd, NULL, NULL, NULL) < 0) {
      if (errno == EINTR) continue;
      perror("select");
      return 1;
    }
    int top = maxfd; /* the sockets select() watched */
    if (FD_ISSET(lfd, &rd)) on_accept(lfd);
    for (int fd = 0; fd <= top; fd++) {
      struct client *c = by_fd[fd];
      if (!c || !FD_ISSET(fd, &rd)) continue;
      if (fd == c->tcp) on_tcp(c);
      else on_can(c);
    }
  }
}
