#!/usr/bin/env bash
# Runs a build tree's kernel-case tests of the given families on this kernel
# (natively or in the guest), once the fixtures are up (fixtures_setup).
#
#   run-cases.sh BUILD_DIR "FAMILIES"
#
# Two phases. First every case that does not ask for bluetoothd, on
# controllers no daemon touches: that is what they test, and bluetoothd
# acts on its own on each new link (pairing, SDP browsing; under it the
# 8th RFCOMM channel opened at once between the two virtual controllers
# failed authentication). Then, if any case asks for it (label
# kernel-bluetoothd), a system D-Bus and bluetoothd -C start and those run.
# Exit status: non-zero if either phase failed.
# ANYSOCK_KERNEL_FILTER=REGEX runs only the cases whose names match (ctest
# -R, e.g. '^Bridge' or 'CanEcho\.Isotp'), in both phases.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh
source "$here/common.sh"
# shellcheck source=fixtures.sh
source "$here/fixtures.sh"

[[ $# -eq 2 && -d $1 ]] || die "usage: run-cases.sh BUILD_DIR \"FAMILIES\""
build=$1 families=$2
: "${FIXTURE_LOG_DIR:=$(mktemp -d)}"
export FIXTURE_LOG_DIR
trap fixtures_cleanup EXIT

labels="^kernel-(${families// /|})\$"
only=()
[[ -n ${ANYSOCK_KERNEL_FILTER:-} ]] && only=(-R "$ANYSOCK_KERNEL_FILTER")
rc=0
ctest --test-dir "$build" -L "$labels" -LE '^kernel-bluetoothd$' "${only[@]}" --output-on-failure || rc=$?

if [[ " $families " == *" bluetooth "* ]]; then
  want=$(ctest --test-dir "$build" -N -L '^kernel-bluetoothd$' "${only[@]}" | awk '/Total Tests:/ {print $3}')
  if (( ${want:-0} > 0 )); then
    note "starting bluetoothd for the $want cases that need it"
    if fixture_bluetoothd; then
      if ! ctest --test-dir "$build" -L '^kernel-bluetoothd$' "${only[@]}" --output-on-failure; then
        rc=1
        if [[ -n ${ANYSOCK_BLUETOOTHD_LOG:-} ]]; then
          note "a case under bluetoothd failed; the last 60 lines of its log ($ANYSOCK_BLUETOOTHD_LOG):"
          tail -n 60 "$ANYSOCK_BLUETOOTHD_LOG" >&2
        fi
      fi
    else
      note "FAIL: the bluetoothd fixture did not come up (above), so its $want cases did not run"
      rc=1
    fi
  fi
fi
exit "$rc"
