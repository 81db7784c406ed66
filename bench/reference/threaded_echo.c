/* The seed's design in C: a blocking thread per client. A reference for
 * `bench/suite.py`, not part of anysock.
 *   threaded_echo [PORT]   (0 or none: a free port; prints "listening URI") */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static void *serve(void *arg) {
  int fd = (int)(intptr_t)arg;
  char buf[16384];
  ssize_t r;
  while ((r = read(fd, buf, sizeof buf)) > 0) {
    for (ssize_t done = 0, w; done < r; done += w)
      if ((w = write(fd, buf + done, (size_t)(r - done))) <= 0) goto out;
  }
out:
  close(fd);
  return NULL;
}

int main(int argc, char **argv) {
  int lfd = socket(AF_INET6, SOCK_STREAM, 0), on = 1, off = 0;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
  struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(argc > 1 ? atoi(argv[1]) : 0),
                           .sin6_addr = in6addr_loopback};
  if (bind(lfd, (struct sockaddr *)&a, sizeof a) || listen(lfd, 4096)) {
    perror("threaded_echo: bind/listen");
    return 3;
  }
  socklen_t l = sizeof a;
  getsockname(lfd, (struct sockaddr *)&a, &l);
  printf("listening tcp://[::1]:%d\n", ntohs(a.sin6_port));
  fflush(stdout);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  for (;;) {
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0) continue;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    pthread_t t;
    if (pthread_create(&t, &attr, serve, (void *)(intptr_t)fd)) close(fd);
  }
}
