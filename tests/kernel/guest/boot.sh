#!/usr/bin/env bash
# Boots Debian's 6.12 kernel under qemu (TCG) with the host's root shared
# read-only, runs one command inside, streams its output and returns its exit
# status. One boot runs a whole batch (the command is usually a ctest run).
#
#   boot.sh --build DIR [--families "can bluetooth"] [--bluetoothd] -- CMD...
#
# Env: ANYSOCK_KERNEL_CACHE (default DIR/kernel-cache), ANYSOCK_QEMU (binary),
# ANYSOCK_QEMU_ACCEL (default tcg: nested KVM hangs), ANYSOCK_GUEST_MEM (MiB),
# ANYSOCK_KERNEL_TIMEOUT (seconds for the whole run, default 1800),
# ANYSOCK_KERNEL_META (default linux-image-6.12-amd64; 6.1's krfcommd oopses).
# Sourced by run-kernel-tests.sh for guest_prepare/guest_run.
set -euo pipefail

GUEST_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/common.sh
source "$GUEST_DIR/../lib/common.sh"

# Modules the initramfs itself needs (plus their modules.dep dependencies).
INITRAMFS_MODULES=(9pnet_virtio 9p overlay)

# guest_qemu: sets GUEST_QEMU, or returns 1 saying why there is no qemu.
guest_qemu() {
  if [[ -n ${ANYSOCK_QEMU:-} ]]; then
    GUEST_QEMU=$(command -v "$ANYSOCK_QEMU") && return 0
    note "qemu not found at ANYSOCK_QEMU=$ANYSOCK_QEMU"
    return 1
  fi
  GUEST_QEMU=$(command -v qemu-system-x86_64) && return 0
  note "qemu-system-x86_64 not found (Debian package qemu-system-x86)"
  return 1
}

# Resolves the exact kernel package behind the meta package, e.g.
# linux-image-6.12.117+deb12-amd64 6.12.117-1~deb12u1 (from the security suite).
resolve_kernel_package() {
  local meta=$1 pkg ver
  pkg=$(apt-cache depends "$meta" 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}')
  [[ -n $pkg ]] || return 1
  ver=$(apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/ {print $2; exit}')
  [[ -n $ver && $ver != "(none)" ]] || return 1
  echo "$pkg $ver"
}

# Orders a module and its dependencies (deps first) from modules.dep.
module_closure() {
  local tree=$1 name=$2 line dep
  line=$(grep -E "/${name}\.ko(\.xz)?:" "$tree/modules.dep") \
    || { note "module $name not in $tree/modules.dep"; return 1; }
  for dep in ${line#*:}; do
    module_closure "$tree" "$(basename "$dep" .ko.xz)"
  done
  echo "$name"
}

# Unpacks the kernel package into $cache/<pkg>_<ver>/ once per version.
prepare_kernel() {
  local cache=$1 meta=${ANYSOCK_KERNEL_META:-linux-image-6.12-amd64} pkgver pkg ver dir tmp
  pkgver=$(resolve_kernel_package "$meta") \
    || { is_root && apt_update_once && pkgver=$(resolve_kernel_package "$meta"); } || pkgver=''
  if [[ -z $pkgver ]]; then
    # Offline or no package lists: an earlier unpacked kernel still serves.
    dir=$(find "$cache" -maxdepth 2 -name complete -printf '%h\n' 2>/dev/null | sort | tail -n 1)
    [[ -n $dir ]] || { note "cannot resolve Debian package $meta (run apt-get update as root; it is in bookworm-security/bookworm-updates)"; return 1; }
    note "cannot resolve $meta now; using the cached $(basename "$dir")"
  else
    read -r pkg ver <<<"$pkgver"
    dir=$cache/${pkg}_${ver//[:~]/_}
  fi
  if [[ ! -f $dir/complete ]]; then
    note "fetching $pkg $ver into $cache (once per kernel version)"
    tmp=$dir.partial
    rm -rf "$tmp" && mkdir -p "$tmp"
    ( cd "$tmp" && bounded apt-get download -q "$pkg=$ver" >&2 2>/dev/null ) \
      || { is_root && apt_update_once && ( cd "$tmp" && bounded apt-get download -q "$pkg=$ver" >&2 ); } \
      || { note "apt-get download $pkg=$ver failed"; return 1; }
    dpkg-deb -x "$tmp"/*.deb "$tmp/root" && rm -f "$tmp"/*.deb
    local kver
    kver=$(basename "$(ls -d "$tmp"/root/lib/modules/*/ | head -n 1)")
    depmod -b "$tmp/root" "$kver" || { note "depmod failed for $kver"; return 1; }
    echo "$kver" >"$tmp/kver"
    touch "$tmp/complete"
    # Keep one kernel: drop older versions before publishing this one.
    find "$cache" -mindepth 1 -maxdepth 1 -type d ! -name "$(basename "$tmp")" -exec rm -rf {} +
    mv "$tmp" "$dir"
  fi
  GUEST_KVER=$(cat "$dir/kver")
  GUEST_KERNEL=$dir/root/boot/vmlinuz-$GUEST_KVER
  GUEST_MODULES=$dir/root/lib/modules/$GUEST_KVER
  GUEST_KDIR=$dir
}

# Builds the initramfs (busybox + init + decompressed 9p/overlay modules);
# keyed on the init script and busybox so editing either rebuilds it.
prepare_initramfs() {
  local busybox=/bin/busybox key out work m
  file -L "$busybox" 2>/dev/null | grep -q 'statically linked' \
    || ldd "$busybox" 2>&1 | grep -q 'not a dynamic' \
    || { note "$busybox is not static (install busybox-static)"; return 1; }
  key=$(cat "$GUEST_DIR/init" "$busybox" | sha256sum | cut -c1-16)
  out=$GUEST_KDIR/initramfs-$key.cpio.gz
  if [[ ! -f $out ]]; then
    work=$(mktemp -d)
    mkdir -p "$work"/{bin,dev,proc,sys,modules}
    cp "$busybox" "$work/bin/busybox"
    cp "$GUEST_DIR/init" "$work/init"
    for m in "${INITRAMFS_MODULES[@]}"; do module_closure "$GUEST_MODULES" "$m"; done \
      | awk '!seen[$0]++' >"$work/modules/order"
    while read -r m; do
      xz -dc "$(find "$GUEST_MODULES/kernel" -name "$m.ko.xz" | head -n 1)" >"$work/modules/$m.ko"
    done <"$work/modules/order"
    rm -f "$GUEST_KDIR"/initramfs-*.cpio.gz
    ( cd "$work" && find . | cpio -o -H newc -R 0:0 --quiet ) | gzip -1 >"$out.partial"
    mv "$out.partial" "$out"
    rm -rf "$work"
  fi
  GUEST_INITRD=$out
}

# guest_prepare BUILD: packages, kernel and initramfs. Returns 1 (with the
# reason already printed) when the guest cannot be had on this host.
guest_prepare() {
  local build=$1
  # An explicit ANYSOCK_QEMU that is missing needs no apt run to say so.
  [[ -z ${ANYSOCK_QEMU:-} ]] || guest_qemu || return 1
  ensure_packages "${GUEST_PACKAGES[@]}" || return 1
  guest_qemu || return 1
  local cache=${ANYSOCK_KERNEL_CACHE:-$build/kernel-cache}
  mkdir -p "$cache"
  prepare_kernel "$cache" || return 1
  prepare_initramfs || return 1
}

# Kills qemu (via its pid file and the timeout wrapper) and the log follower.
_guest_cleanup() {
  local pid
  for pid in ${_GUEST_PIDS:-}; do kill "$pid" 2>/dev/null || true; done
  if [[ -n ${_GUEST_JOB:-} ]]; then
    pid=$(cat "$_GUEST_JOB/qemu.pid" 2>/dev/null || true)
    [[ -n $pid ]] && kill -9 "$pid" 2>/dev/null || true
    rm -rf "$_GUEST_JOB"
  fi
  _GUEST_PIDS='' _GUEST_JOB=''
}

# guest_run BUILD FAMILIES BLUETOOTHD CMD...: boots, runs CMD, returns its status.
# The caller must trap EXIT/INT/TERM to _guest_cleanup so qemu never outlives it.
guest_run() {
  local build=$1 families=$2 bluetoothd=$3
  shift 3
  local p
  for p in "$build" "$GUEST_DIR" "$GUEST_MODULES" "$PWD"; do
    [[ $p != *[[:space:]]* ]] || { note "path with spaces cannot go on the kernel command line: '$p'"; return 1; }
  done
  mkdir -p "$build/kernel-runs"
  _GUEST_JOB=$(mktemp -d "$build/kernel-runs/job.XXXXXX")
  local job=$_GUEST_JOB

  # What the guest runs: environment, working directory and the command.
  {
    local v
    for v in $(compgen -e | grep -E '^(CI|ANYSOCK_.*|GTEST_.*|CTEST_.*)$' || true); do
      printf 'export %s=%q\n' "$v" "${!v}"
    done
    printf 'export ANYSOCK_KERNEL_HARNESS=guest ANYSOCK_GUEST_FAMILIES=%q ANYSOCK_KERNEL_BLUETOOTHD=%q\n' \
      "$families" "$bluetoothd"
    printf 'cd %q\n' "$PWD"
  } >"$job/env"
  printf '%q ' "$@" >"$job/cmd"
  echo >>"$job/cmd"

  # Under TCG a kernel can, rarely, die while it patches its own code at boot
  # (an "Oops: int3" in a static-key site: another vCPU ran the stale
  # translation). Nothing ran yet then, so the boot is tried again, at most
  # twice; a crash once the command has started is reported, never retried.
  local boot left qrc accel=${ANYSOCK_QEMU_ACCEL:-tcg}
  for boot in 1 2 3; do
    left=$(seconds_left)
    note "booting $GUEST_KVER (qemu -accel $accel, up to ${left}s)"
    : >"$job/console.log"
    # timeout(1) bounds qemu even if this script is SIGKILLed (no trap then).
    timeout --kill-after=10 "$left" "$GUEST_QEMU" -accel "$accel" -m "${ANYSOCK_GUEST_MEM:-2048}" -smp 2 \
      -display none -vga none -nic none -no-reboot -monitor none -serial "file:$job/console.log" \
      -pidfile "$job/qemu.pid" \
      -kernel "$GUEST_KERNEL" -initrd "$GUEST_INITRD" \
      -append "console=ttyS0 loglevel=4 edd=off panic=-1 anysock.job=$job anysock.stage2=$GUEST_DIR/stage2.sh anysock.modules=$GUEST_MODULES" \
      -virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
      -virtfs "local,path=$job,mount_tag=job,security_model=none,multidevs=remap" \
      </dev/null >"$job/qemu.out" 2>&1 &
    local qpid=$!
    # Stream the console while qemu runs; tail stops when qemu's wrapper exits.
    tail -n +1 -f --pid="$qpid" "$job/console.log" &
    local tpid=$!
    _GUEST_PIDS="$qpid $tpid"
    qrc=0
    wait "$qpid" || qrc=$?
    wait "$tpid" || true
    cp "$job/console.log" "$build/kernel-runs/last-console.log" 2>/dev/null || true
    if [[ -f $job/status || -f $job/started ]] || (( qrc == 124 || qrc == 137 || boot == 3 )); then
      break
    fi
    note "the guest died before the command started (boot $boot of 3): $(grep -m1 -E 'Oops|panic|BUG' \
      "$job/console.log" || echo 'no oops on the console'); booting again"
  done

  if [[ -f $job/status ]]; then
    local status
    status=$(cat "$job/status")
    _guest_cleanup
    return "$status"
  fi
  if (( qrc == 124 || qrc == 137 )); then
    note "guest timed out (ANYSOCK_KERNEL_TIMEOUT=${ANYSOCK_KERNEL_TIMEOUT:-1200}s for the whole run); console tail:"
  else
    note "guest did not finish (qemu exit $qrc): boot failure or crash; qemu said: $(tr '\n' ' ' <"$job/qemu.out")"
    note "console tail (full log: $build/kernel-runs/last-console.log):"
  fi
  tail -n 40 "$job/console.log" >&2
  _guest_cleanup
  return 1
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  build='' families='can bluetooth' bluetoothd=0
  while (( $# )); do
    case $1 in
      --build) build=$(cd "$2" && pwd); shift 2 ;;
      --families) families=$2; shift 2 ;;
      --bluetoothd) bluetoothd=1; shift ;;
      --) shift; break ;;
      *) die "unknown argument '$1' (usage: boot.sh --build DIR [--families F] [--bluetoothd] -- CMD...)" ;;
    esac
  done
  [[ -n $build && $# -gt 0 ]] || die "usage: boot.sh --build DIR [--families F] [--bluetoothd] -- CMD..."
  init_deadline
  trap _guest_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  guest_prepare "$build" || die "the test guest is unavailable on this host (see above)"
  rc=0
  guest_run "$build" "$families" "$bluetoothd" "$@" || rc=$?
  exit "$rc"
fi
