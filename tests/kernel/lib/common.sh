# shellcheck shell=bash
# Shared helpers for the kernel-test scripts (sourced, not run).
# Everything prints one clear line prefixed "anysock-kernel:" so a failure in
# a CTest log says what is wrong and what to do.

# note also keeps the last line, so a caller can repeat the reason in a summary.
note() { _LAST_NOTE="$*"; printf 'anysock-kernel: %s\n' "$*" >&2; }
die() { note "error: $*"; exit 1; }

# The whole run (apt, kernel download, boot, tests) shares one deadline so a
# stuck step cannot eat the CTest timeout. Exported so child scripts agree.
init_deadline() {
  if [[ -z ${ANYSOCK_KERNEL_DEADLINE:-} ]]; then
    local t=${ANYSOCK_KERNEL_TIMEOUT:-1200}
    [[ $t =~ ^[0-9]+$ ]] || die "ANYSOCK_KERNEL_TIMEOUT must be seconds, got '$t'"
    export ANYSOCK_KERNEL_DEADLINE=$(( $(date +%s) + t ))
  fi
}
seconds_left() {
  local left=$(( ANYSOCK_KERNEL_DEADLINE - $(date +%s) ))
  (( left > 0 )) && echo "$left" || echo 1
}
# Runs a command bounded by what is left of the deadline.
bounded() { timeout --kill-after=10 "$(seconds_left)" "$@"; }

is_root() { [[ $(id -u) -eq 0 ]]; }

# Debian packages the guest uses. The guest's root IS the host's root (shared
# read-only over 9p), so every guest tool must be installed on the host.
# shellcheck disable=SC2034 # these lists are used by the scripts that source this
GUEST_PACKAGES=(qemu-system-x86 busybox-static cpio kmod xz-utils can-utils bluez
                bluez-test-tools python3-can dbus)
# shellcheck disable=SC2034
CAN_PACKAGES=(can-utils)
# shellcheck disable=SC2034
BLUETOOTH_PACKAGES=(bluez bluez-test-tools)

missing_packages() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'ok installed$' || echo "$p"
  done
}

apt_update_once() {
  [[ -n ${_ANYSOCK_APT_UPDATED:-} ]] && return 0
  note "apt-get update"
  bounded apt-get update -qq >&2 || return 1
  _ANYSOCK_APT_UPDATED=1
}

# ensure_packages PKG...: installs what is missing (root only). Returns 1 with a
# clear line when it cannot; the caller decides whether that is fatal.
ensure_packages() {
  if ! command -v dpkg-query >/dev/null; then
    note "not a Debian host (no dpkg-query): install the equivalents of: $*"
    return 1
  fi
  local missing
  missing=$(missing_packages "$@" | tr '\n' ' ')
  missing=${missing% }
  [[ -z $missing ]] && return 0
  if ! is_root; then
    note "needs Debian packages: $missing; run: sudo apt-get update && sudo apt-get install -y $missing"
    return 1
  fi
  note "installing: $missing"
  apt_update_once || { note "apt-get update failed; cannot install: $missing"; return 1; }
  # shellcheck disable=SC2086 # word splitting of the package list is intended
  DEBIAN_FRONTEND=noninteractive bounded apt-get install -y -qq --no-install-recommends $missing >&2 \
    || { note "apt-get install failed for: $missing"; return 1; }
}
