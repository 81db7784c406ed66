/* The smallest blocking L2CAP echo: the baseline anysock's l2cap:// echo is
 * measured against (bench/kernel_suite.py --only l2cap). One client at a
 * time; each message received is sent back as it came, until the channel
 * ends.
 *
 *   l2cap_echo ADAPTER_ADDR PSM [le]     prints "listening PSM" when ready
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <bluetooth/bluetooth.h>
#include <bluetooth/l2cap.h>

int main(int argc, char **argv) {
  if (argc != 3 && !(argc == 4 && strcmp(argv[3], "le") == 0)) {
    fprintf(stderr, "usage: %s ADAPTER_ADDR PSM [le]\n", argv[0]);
    return 2;
  }
  struct sockaddr_l2 local;
  memset(&local, 0, sizeof local);
  local.l2_family = AF_BLUETOOTH;
  if (bachk(argv[1]) < 0 || str2ba(argv[1], &local.l2_bdaddr) < 0) {
    fprintf(stderr, "bad address %s\n", argv[1]);
    return 2;
  }
  local.l2_psm = htobs((uint16_t)strtoul(argv[2], NULL, 0));
  local.l2_bdaddr_type = argc == 4 ? BDADDR_LE_PUBLIC : BDADDR_BREDR;
  int ls = socket(AF_BLUETOOTH, SOCK_SEQPACKET, BTPROTO_L2CAP);
  if (ls < 0 || bind(ls, (struct sockaddr *)&local, sizeof local) < 0 || listen(ls, 4) < 0) {
    perror("l2cap listen");
    return 3;
  }
  printf("listening %s\n", argv[2]);
  fflush(stdout);
  static char buf[64 * 1024];
  for (;;) {
    int c = accept(ls, NULL, NULL);
    if (c < 0) {
      perror("accept");
      return 3;
    }
    ssize_t n;
    while ((n = recv(c, buf, sizeof buf, 0)) > 0)
      if (send(c, buf, (size_t)n, 0) != n) break;
    close(c);
  }
}
