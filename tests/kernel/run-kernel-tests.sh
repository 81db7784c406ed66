#!/usr/bin/env bash
# Runs the kernel-case tests (ctest labels kernel-can, kernel-bluetooth) of a
# build tree: natively for each family this host's kernel can serve, the rest
# in ONE boot of a qemu guest running Debian's 6.12 kernel (guest/boot.sh).
#
#   run-kernel-tests.sh BUILD_DIR [--probe PATH] [--timeout S]
#
# Env: ANYSOCK_KERNEL_MODE=auto|native|guest (default auto),
#      ANYSOCK_KERNEL_TIMEOUT (overrides --timeout), CI=true (see below),
#      ANYSOCK_KERNEL_FILTER=REGEX (only the cases whose names match, as
#      ctest -R; a family with none is not set up at all), and
#      those of guest/boot.sh. Where the tests run, lib/run-cases.sh runs them:
#      those that need bluetoothd (label kernel-bluetoothd) last, with it.
# When neither the host nor the guest can run a family it prints one line
# saying why and exits 1 under CI=true, 77 (CTest's SKIP_RETURN_CODE) elsewhere.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=guest/boot.sh
source "$here/guest/boot.sh"  # also brings lib/common.sh
# shellcheck source=lib/fixtures.sh
source "$here/lib/fixtures.sh"

usage="usage: run-kernel-tests.sh BUILD_DIR [--probe PATH] [--timeout S]"
[[ $# -ge 1 && -d $1 ]] || die "$usage (BUILD_DIR must exist)"
build=$(cd "$1" && pwd)
shift
probe=$build/tests/kernel/anysock_kernel_probe
while (( $# )); do
  case $1 in
    --probe) probe=$2; shift 2 ;;
    --timeout) : "${ANYSOCK_KERNEL_TIMEOUT:=$2}"; shift 2 ;;
    *) die "unknown argument '$1'; $usage" ;;
  esac
done
export ANYSOCK_KERNEL_TIMEOUT=${ANYSOCK_KERNEL_TIMEOUT:-1800}
init_deadline
[[ -x $probe ]] || die "probe $probe is missing: build the project first (cmake --build $build)"

# Kills the guest and removes native fixtures on every way out.
# shellcheck disable=SC2317 # called from the traps
cleanup() { fixtures_cleanup; _guest_cleanup; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Kernel cases exist only when ANYSOCK_KERNEL_HARNESS is set (CMakeLists.txt).
only=()
[[ -n ${ANYSOCK_KERNEL_FILTER:-} ]] && only=(-R "$ANYSOCK_KERNEL_FILTER")
count_label() {
  ANYSOCK_KERNEL_HARNESS=list ctest --test-dir "$build" -N -L "^$1\$" "${only[@]}" | awk '/Total Tests:/ {print $3}'
}
families=()
for f in can bluetooth; do
  (( $(count_label "kernel-$f") > 0 )) && families+=("$f")
done
if [[ -n ${ANYSOCK_KERNEL_FILTER:-} ]]; then
  (( ${#families[@]} )) || die "no kernel-case test in $build matches ANYSOCK_KERNEL_FILTER='$ANYSOCK_KERNEL_FILTER'"
  note "only the cases matching ANYSOCK_KERNEL_FILTER='$ANYSOCK_KERNEL_FILTER' (families: ${families[*]})"
fi
(( ${#families[@]} )) || die "no kernel-case tests in $build: build the project first (cmake --build $build)"

# native_ok FAMILY: can this host run the family's tests itself? Sets `why`.
why=''
native_ok() {
  local out
  if ! out=$("$probe" "$1"); then why="host: $out"; return 1; fi
  case $1 in
    can)
      if [[ -e /sys/class/net/vcan0 && -e /sys/class/net/vcan1 ]] && [[ $(cat /sys/class/net/vcan1/mtu) == 72 ]] \
        && _link_is_up vcan0 && _link_is_up vcan1; then
        return 0
      fi
      # Fixtures can make them only with the right to create vcan links.
      if ip link add dev anysockprobe type vcan 2>/dev/null; then
        ip link del dev anysockprobe
        return 0
      fi
      why="host: has AF_CAN but no vcan0 + vcan1 (MTU 72) up, and may not create them"
      return 1 ;;
    bluetooth)
      command -v btvirt >/dev/null || { why="host: no btvirt (Debian package bluez-test-tools)"; return 1; }
      is_root || { why="host: btvirt and hciconfig need root"; return 1; }
      [[ -e /dev/vhci ]] || modprobe hci_vhci 2>/dev/null || { why="host: no /dev/vhci (module hci_vhci)"; return 1; }
      return 0 ;;
  esac
}

mode=${ANYSOCK_KERNEL_MODE:-auto}
native=() guest=() reasons=()
for f in "${families[@]}"; do
  case $mode in
    native) native+=("$f") ;;
    guest) guest+=("$f") ;;
    auto) if native_ok "$f"; then native+=("$f"); else guest+=("$f"); reasons+=("$why"); fi ;;
    *) die "ANYSOCK_KERNEL_MODE must be auto, native or guest, not '$mode'" ;;
  esac
done

# unavailable WHAT WHY: the one line, then fail in CI or skip elsewhere.
unavailable() {
  if [[ ${CI:-} == true ]]; then
    note "FAIL: cannot run the $1 tests: $2 (CI=true, so this fails instead of skipping)"
    exit 1
  fi
  note "SKIP: cannot run the $1 tests: $2 (see tests/kernel/README.md)"
  exit 77
}

names() { local f out=(); for f; do out+=("kernel-$f"); done; echo "${out[*]}"; }
rc=0

if (( ${#native[@]} )); then
  pk=()
  for f in "${native[@]}"; do
    [[ $f == can ]] && pk+=("${CAN_PACKAGES[@]}")
    [[ $f == bluetooth ]] && pk+=("${BLUETOOTH_PACKAGES[@]}")
  done
  ensure_packages "${pk[@]}" || unavailable "$(names "${native[@]}")" "host lacks packages: ${pk[*]}"
  note "running $(names "${native[@]}") tests natively on $(uname -r)"
  FIXTURE_LOG_DIR=$(mktemp -d)
  export FIXTURE_LOG_DIR
  fixtures_setup "${native[*]}" 0 || die "native fixtures failed (above)"
  ANYSOCK_KERNEL_HARNESS=native bounded bash "$here/lib/run-cases.sh" "$build" "${native[*]}" || rc=$?
  fixtures_cleanup
  rm -rf "$FIXTURE_LOG_DIR"
fi

if (( ${#guest[@]} )); then
  why=$(IFS=';'; echo "${reasons[*]:-ANYSOCK_KERNEL_MODE=guest}")
  note "$(names "${guest[@]}") tests go to the guest (${why//;/; })"
  if ! guest_prepare "$build"; then
    unavailable "$(names "${guest[@]}")" "${why//;/; }; guest: ${_LAST_NOTE:-unavailable}"
  fi
  started=$(date +%s)
  guest_run "$build" "${guest[*]}" 0 bash "$here/lib/run-cases.sh" "$build" "${guest[*]}" || rc=$?
  note "guest run took $(( $(date +%s) - started ))s (boot, fixtures and tests), exit $rc"
fi
exit "$rc"
