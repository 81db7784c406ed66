#!/bin/bash
# PID 1 in the guest after switch_root, running from the host's tree (seen
# read-only, through the overlay). Mounts the rest, sets up the fixtures, runs
# the job's command, writes its exit status to the job share and powers off.
# No `set -e`: PID 1 must always reach the status file and the power-off.
set -uo pipefail
job=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/common.sh
source "$here/../lib/common.sh"
# shellcheck source=../lib/fixtures.sh
source "$here/../lib/fixtures.sh"

finish() {
  echo "$1" >"$job/status"
  fixtures_cleanup
  sync
  /bin/busybox poweroff -f 2>/dev/null || echo o >/proc/sysrq-trigger
  sleep 30
}

mount -t proc proc /proc
mount -t sysfs sys /sys
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs shm /dev/shm
# devtmpfs has no /dev/fd: bash process substitution needs it.
ln -sf /proc/self/fd /dev/fd
# A fresh /run: no host pid files or sockets (dbus) to confuse daemons.
mount -t tmpfs -o mode=0755 run /run
# The serial console would turn \n into \r\n in the host's log.
stty -onlcr 2>/dev/null || true
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb
hostname anysock-guest
ip link set dev lo up

# shellcheck disable=SC1091 # written by boot.sh for this run
source "$job/env" || { note "cannot load $job/env"; finish 1; }
export FIXTURE_LOG_DIR=$job
echo "anysock-guest: up on $(uname -r) after $(cut -d' ' -f1 /proc/uptime)s; fixtures: $ANYSOCK_GUEST_FAMILIES"
# Network time stamps stay on for the whole run. The first socket to ask
# for SO_TIMESTAMP (the socketcand server's CAN sockets, candump, python-can)
# turns a static key on in the kernel and the last one to close turns it
# off, and each switch patches kernel text through an int3. Under TCG another
# vCPU may still run that int3 once the patch is done, and the kernel dies
# of it (seen in CI: "Oops: int3" in __netif_receive_skb_core, where the key
# is tested). A socket that keeps its time stamps on for the whole run keeps
# the key from ever switching.
/usr/bin/python3 -c 'import signal, socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, 29, 1)  # SO_TIMESTAMP, which Python has no name for
signal.pause()' &
_FIX_PIDS+=("$!")
if ! fixtures_setup "$ANYSOCK_GUEST_FAMILIES" "$ANYSOCK_KERNEL_BLUETOOTHD"; then
  note "guest fixtures failed (above); kernel log tail:"
  dmesg | tail -n 20
  finish 1
fi
echo "anysock-guest: fixtures ready after $(cut -d' ' -f1 /proc/uptime)s"
: >"$job/started"  # tells boot.sh that a crash from here on is not a boot failure
bash "$job/cmd"
status=$?
if (( status != 0 )); then
  # The console shows only errors; warnings (oops traces) are in dmesg.
  echo "anysock-guest: command exited $status; kernel warnings and errors:"
  dmesg --level=emerg,alert,crit,err,warn | tail -n 40
fi
finish "$status"
