#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs the VM suite for one configuration: boots the cached test kernel under QEMU (TCG)
# with virtme-ng, the host root read-only and a results folder writable, and runs
# tools/testing/vm/guest.sh inside. Prints the result matrix and 'N passed, N failed'.
#
# Environment: RTRS_CLIENT RTRS_SERVER RNBD_CLIENT RNBD_SERVER (rust|c), SOFT_RDMA (rxe),
# FLAVOR (debug|perf), CASES (space-separated names to run, or with a leading - to leave out), VM_TIMEOUT (seconds), RESULTS,
# RTRS_SRV_PARAMS (rtrs_server module parameters, e.g. "always_invalidate=N").
set -euo pipefail
repo=$(cd "$(dirname "$0")/../../.." && pwd)
. "$repo/scripts/lib.sh"

REPO=$repo
module_set_from_env vmtest
SOFT_RDMA=${SOFT_RDMA:-rxe}
case "$SOFT_RDMA" in
rxe) ;;
siw) die "vmtest: siw cannot carry RTRS: it has no RDMA WRITE with immediate data (see case iwarp_refused)" ;;
*) die "vmtest: SOFT_RDMA must be rxe" ;;
esac
FLAVOR=${FLAVOR:-debug}
# Server parameters get their own results folder: srv-params-always_invalidate-N, ...
tag="${TAG}_${SOFT_RDMA}_${FLAVOR}${TAG_PARAMS}"
RESULTS=${RESULTS:-$repo/results/vmtest/$tag}

step "vmtest: $tag: booting the $FLAVOR kernel under TCG"
start=$(date +%s)
vm_rc=0
write_config "$RESULTS"
boot_guest "$FLAVOR" "$RESULTS" "${VM_TIMEOUT:-2400}" "$repo/tools/testing/vm/guest.sh" || vm_rc=$?
step "vmtest: $tag: guest finished after $(( $(date +%s) - start )) s (exit $vm_rc)"

exec "$repo/tools/testing/vm/report.sh" "$RESULTS" "$tag"
