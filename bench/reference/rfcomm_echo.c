/* The smallest blocking RFCOMM echo responder: the baseline anysock's
 * rfcomm:// echo is measured against (tests/kernel/rfcomm_bench_test.cpp).
 * One client at a time; read() then write() the same bytes until EOF.
 *
 *   rfcomm_echo ADAPTER_ADDR CHANNEL     prints "listening CHANNEL" when ready
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <bluetooth/bluetooth.h>
#include <bluetooth/rfcomm.h>

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s ADAPTER_ADDR CHANNEL\n", argv[0]);
    return 2;
  }
  struct sockaddr_rc local = {0};
  local.rc_family = AF_BLUETOOTH;
  if (bachk(argv[1]) < 0 || str2ba(argv[1], &local.rc_bdaddr) < 0) {
    fprintf(stderr, "bad address %s\n", argv[1]);
    return 2;
  }
  local.rc_channel = (uint8_t)atoi(argv[2]);
  int ls = socket(AF_BLUETOOTH, SOCK_STREAM, BTPROTO_RFCOMM);
  if (ls < 0 || bind(ls, (struct sockaddr *)&local, sizeof local) < 0 || listen(ls, 4) < 0) {
    perror("rfcomm listen");
    return 3;
  }
  printf("listening %d\n", local.rc_channel);
  fflush(stdout);
  static char buf[64 * 1024];
  for (;;) {
    int c = accept(ls, NULL, NULL);
    if (c < 0) {
      perror("accept");
      return 3;
    }
    ssize_t n;
    while ((n = read(c, buf, sizeof buf)) > 0) {
      for (ssize_t done = 0; done < n;) {
        ssize_t w = write(c, buf + done, (size_t)(n - done));
        if (w <= 0) goto next;
        done += w;
      }
    }
  next:
    close(c);
  }
}
