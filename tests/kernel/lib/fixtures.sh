# shellcheck shell=bash
# Kernel fixtures for the kernel-case tests (sourced; used in the guest and
# natively). Needs root for anything it has to create. Exports to the tests:
#   ANYSOCK_CAN_IF0=vcan0 (classic CAN, MTU 16), ANYSOCK_CAN_FD_IF=vcan1 (MTU 72)
#   ANYSOCK_BT_HCI0/1, ANYSOCK_BT_ADDR0/1: two linked virtual BR/EDR controllers
#   ANYSOCK_BLUETOOTHD=1 when a system D-Bus and bluetoothd -C run, and
#   ANYSOCK_BLUETOOTHD_LOG=its log when the harness started it
# Everything it creates is recorded and removed by fixtures_cleanup.
# Needs note() from common.sh and FIXTURE_LOG_DIR (where daemon logs go).

_FIX_LINKS=()
_FIX_PIDS=()

# wait_for TRIES DELAY CMD...: bounded polling (the guest is slow, so generous).
wait_for() {
  local tries=$1 delay=$2 i
  shift 2
  for (( i = 0; i < tries; i++ )); do
    "$@" >/dev/null 2>&1 && return 0
    sleep "$delay"
  done
  return 1
}

_link_is_up() { (( $(cat "/sys/class/net/$1/flags") & 1 )); }

fixture_can() {
  local spec ifc mtu
  for spec in vcan0:16 vcan1:72; do
    ifc=${spec%:*} mtu=${spec#*:}
    if [[ ! -e /sys/class/net/$ifc ]]; then
      # Loads vcan on demand (rtnl-link-vcan alias).
      ip link add dev "$ifc" type vcan \
        || { note "cannot create $ifc: needs root and the vcan module (modprobe vcan)"; return 1; }
      _FIX_LINKS+=("$ifc")
    fi
    if [[ $(cat "/sys/class/net/$ifc/mtu") != "$mtu" ]]; then
      { ip link set dev "$ifc" down && ip link set dev "$ifc" mtu "$mtu"; } \
        || { note "$ifc must have MTU $mtu: ip link set $ifc mtu $mtu (as root)"; return 1; }
    fi
    if ! _link_is_up "$ifc"; then
      ip link set dev "$ifc" up || { note "cannot bring $ifc up: ip link set $ifc up (as root)"; return 1; }
    fi
  done
  export ANYSOCK_CAN_IF0=vcan0 ANYSOCK_CAN_FD_IF=vcan1
}

_hci_list() { find /sys/class/bluetooth -maxdepth 1 -name 'hci[0-9]*' ! -name '*:*' -printf '%f\n' 2>/dev/null | sort; }
_hci_addr() { hciconfig "$1" | awk '/BD Address:/ {print $3; exit}'; }
_hci_pscan() { hciconfig "$1" | grep -q 'UP RUNNING PSCAN'; }

fixture_bluetooth() {
  local before new=() h i addr
  before=$(_hci_list)
  # devtmpfs gets /dev/vhci only once hci_vhci is loaded (no udev static nodes).
  if [[ ! -e /dev/vhci ]]; then
    modprobe hci_vhci || { note "no /dev/vhci: modprobe hci_vhci failed (needs root)"; return 1; }
  fi
  # btvirt's crypto goes through AF_ALG; loading those modules up front spares
  # the first HCI command a timeout while it loads them on demand (slow in TCG).
  is_root && { modprobe -a af_alg algif_hash algif_skcipher ecb cmac drbg 2>/dev/null || true; }
  # Two controllers on one virtual link (needs /dev/vhci, and AF_ALG crypto
  # modules that it loads on demand; without them it cannot open /dev/vhci).
  btvirt -l2 >"$FIXTURE_LOG_DIR/btvirt.log" 2>&1 &
  local btvirt_pid=$!
  _FIX_PIDS+=("$btvirt_pid")
  for (( i = 0; i < 120; i++ )); do
    mapfile -t new < <(comm -13 <(echo "$before") <(_hci_list))
    (( ${#new[@]} >= 2 )) && break
    kill -0 "$btvirt_pid" 2>/dev/null || break
    sleep 0.5
  done
  if (( ${#new[@]} < 2 )); then
    note "btvirt -l2 did not create two controllers within 60 s; its log:"
    cat "$FIXTURE_LOG_DIR/btvirt.log" >&2
    return 1
  fi
  for i in 0 1; do
    h=${new[$i]}
    # Powered on and page-scan enabled, so the other controller can connect.
    wait_for 20 0.5 hciconfig "$h" up piscan || { note "hciconfig $h up piscan failed"; return 1; }
    wait_for 20 0.5 _hci_pscan "$h" || { note "$h is not UP RUNNING PSCAN"; hciconfig "$h" >&2; return 1; }
    addr=$(_hci_addr "$h")
    [[ $addr =~ ^([0-9A-F]{2}:){5}[0-9A-F]{2}$ && $addr != 00:00:00:00:00:00 ]] \
      || { note "$h has no usable address ('$addr')"; return 1; }
    export "ANYSOCK_BT_HCI$i=$h" "ANYSOCK_BT_ADDR$i=$addr"
  done
  _not_bondable "${new[0]}" "${new[1]}" || return 1
}

# The two controllers pair by themselves (SSP Just Works: RFCOMM encrypts
# even at security level low). Bonded, one side could keep the link key
# while the other forgets it with the link (seen under bluetoothd: its
# store holds a key for one direction only), and the next ACL link then
# fails authentication with EACCES. Not bondable, every link pairs afresh
# and both sides drop the key with the link, as between two strangers.
# bluetoothd sets bondable itself when it takes an adapter: call again then.
_not_bondable() {
  local h
  for h in "$@"; do
    wait_for 10 0.5 _bondable_off "$h" \
      || { note "cannot turn bonding off on $h (btmgmt --index ${h#hci} bondable off)"; return 1; }
  done
}
_bondable_off() {
  btmgmt --index "${1#hci}" bondable off >/dev/null || return 1
  ! btmgmt --index "${1#hci}" info | grep -q 'current settings:.* bondable'
}

# A system D-Bus and bluetoothd in compat mode (-C), so libbluetooth's
# sdp_record_register and `sdptool add` work. Needs fixture_bluetooth first.
# The one it starts logs with -d, each line timestamped, next to an HCI
# trace (btmon -w): its SDP server was seen not answering for minutes in CI
# and only a debug log says what it was doing (ANYSOCK_BLUETOOTHD_DEBUG=0
# turns both off). Its pid stays in _BLUETOOTHD_PID for bluetoothd_restart.
_BLUETOOTHD_PID=
fixture_bluetoothd() {
  local bluetoothd=/usr/libexec/bluetooth/bluetoothd h
  [[ -n ${ANYSOCK_BT_HCI0:-} ]] || { note "bluetoothd needs the Bluetooth fixture"; return 1; }
  if pgrep -x bluetoothd >/dev/null; then
    note "using the bluetoothd already running (SDP registration needs it started with -C)"
  else
    [[ -x $bluetoothd ]] || { note "$bluetoothd missing (Debian package bluez)"; return 1; }
    if [[ ! -S /run/dbus/system_bus_socket ]]; then
      mkdir -p /run/dbus
      dbus-daemon --system --fork --print-pid >"$FIXTURE_LOG_DIR/dbus.pid" \
        || { note "cannot start the system D-Bus (dbus-daemon --system)"; return 1; }
      _FIX_PIDS+=("$(cat "$FIXTURE_LOG_DIR/dbus.pid")")
    fi
    # The tests print its tail when they fail; a restart appends to it.
    local log=$FIXTURE_LOG_DIR/bluetoothd.log
    if [[ ${ANYSOCK_BLUETOOTHD_DEBUG:-1} == 1 ]]; then
      if [[ -z ${_BTMON_PID:-} ]]; then
        btmon -w "$FIXTURE_LOG_DIR/hci.btsnoop" >/dev/null 2>&1 &
        _BTMON_PID=$!
        _FIX_PIDS+=("$_BTMON_PID")
      fi
      "$bluetoothd" -C -n -d > >(while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done >>"$log") 2>&1 &
    else
      "$bluetoothd" -C -n >>"$log" 2>&1 &
    fi
    _BLUETOOTHD_PID=$!
    _FIX_PIDS+=("$_BLUETOOTHD_PID")
    export ANYSOCK_BLUETOOTHD_LOG=$log
  fi
  wait_for 60 0.5 test -S /run/sdp || { note "bluetoothd -C did not open /run/sdp; its log:"; cat "$FIXTURE_LOG_DIR/bluetoothd.log" >&2; return 1; }
  # bluetoothd turns connectable off when it takes an adapter (after it shows
  # up on D-Bus, at a time of its choosing): turn it back on until it stays on.
  for h in "$ANYSOCK_BT_HCI0" "$ANYSOCK_BT_HCI1"; do
    wait_for 120 0.5 _bluetoothd_has "$(_hci_addr "$h")" \
      || { note "bluetoothd did not take $h within 60 s (bluetoothctl list); its log:"; cat "$FIXTURE_LOG_DIR/bluetoothd.log" >&2; return 1; }
  done
  for h in "$ANYSOCK_BT_HCI0" "$ANYSOCK_BT_HCI1"; do
    wait_for 10 0.5 _connectable_stays "$h" \
      || { note "$h does not stay page-scanning after btmgmt --index ${h#hci} connectable on"; return 1; }
  done
  _not_bondable "$ANYSOCK_BT_HCI0" "$ANYSOCK_BT_HCI1" || return 1
  export ANYSOCK_BLUETOOTHD=1
}

# Whether bluetoothd's local SDP server answers a browse within 25 s (the
# request itself times out after 20 s in libbluetooth).
bluetoothd_answers() { timeout 25 sdptool browse local >/dev/null 2>&1; }

# What a bluetoothd that does not answer is doing: its state, the kernel
# stack it sleeps in, the ACL links, the end of its log.
bluetoothd_diagnose() {
  local pid
  pid=$(pgrep -x bluetoothd | head -n 1)
  [[ -n $pid ]] || { note "no bluetoothd is running"; return 0; }
  note "bluetoothd (pid $pid): $(grep -E '^State:' "/proc/$pid/status" 2>/dev/null), wchan $(cat "/proc/$pid/wchan" 2>/dev/null), syscall $(cut -d' ' -f1 "/proc/$pid/syscall" 2>/dev/null)"
  note "its kernel stack:"; cat "/proc/$pid/stack" >&2 2>/dev/null || true
  note "ACL links:"; hcitool con >&2 2>/dev/null || true
  if [[ -n ${ANYSOCK_BLUETOOTHD_LOG:-} ]]; then
    note "the last 40 lines of its log ($ANYSOCK_BLUETOOTHD_LOG):"
    tail -n 40 "$ANYSOCK_BLUETOOTHD_LOG" >&2
  fi
}

# Stops the bluetoothd fixture_bluetoothd started and starts a new one. One
# the harness did not start (a user's) is left alone: then this fails.
bluetoothd_restart() {
  [[ -n $_BLUETOOTHD_PID ]] \
    || { note "the running bluetoothd is not the harness's; restart it yourself (systemctl restart bluetooth)"; return 1; }
  kill "$_BLUETOOTHD_PID" 2>/dev/null
  wait_for 20 0.5 _no_bluetoothd || kill -KILL "$_BLUETOOTHD_PID" 2>/dev/null
  wait_for 20 0.5 _no_bluetoothd || { note "bluetoothd (pid $_BLUETOOTHD_PID) does not exit"; return 1; }
  printf '%s ----- bluetoothd restarted by the harness -----\n' "$EPOCHREALTIME" >>"$ANYSOCK_BLUETOOTHD_LOG"
  _BLUETOOTHD_PID=
  fixture_bluetoothd
}
_no_bluetoothd() { ! pgrep -x bluetoothd; }
_bluetoothd_has() { timeout 20 bluetoothctl list | grep -q "Controller $1"; }
# Sets connectable, then needs page scan on at three checks over ~1.5 s.
_connectable_stays() {
  local i
  btmgmt --index "${1#hci}" connectable on >/dev/null || return 1
  for i in 1 2 3; do sleep 0.5; _hci_pscan "$1" || return 1; done
}

# fixtures_setup "FAMILIES" BLUETOOTHD(0|1)
fixtures_setup() {
  local f
  for f in $1; do
    case $f in
      can) fixture_can || return 1 ;;
      bluetooth) fixture_bluetooth || return 1 ;;
      *) note "unknown kernel family '$f'"; return 1 ;;
    esac
  done
  if [[ $2 == 1 ]]; then fixture_bluetoothd || return 1; fi
  return 0
}

fixtures_cleanup() {
  local pid ifc
  for pid in "${_FIX_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for ifc in "${_FIX_LINKS[@]}"; do ip link del dev "$ifc" 2>/dev/null || true; done
  _FIX_PIDS=() _FIX_LINKS=()
}
