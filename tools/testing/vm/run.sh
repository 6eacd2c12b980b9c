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

for m in RTRS_CLIENT RTRS_SERVER RNBD_CLIENT RNBD_SERVER; do
	v=${!m:-rust}
	case "$v" in rust|c) ;; *) die "vmtest: $m must be rust or c, not '$v'" ;; esac
	printf -v "$m" %s "$v"
done
SOFT_RDMA=${SOFT_RDMA:-rxe}
case "$SOFT_RDMA" in
rxe) ;;
siw) die "vmtest: siw cannot carry RTRS: it has no RDMA WRITE with immediate data (see case iwarp_refused)" ;;
*) die "vmtest: SOFT_RDMA must be rxe" ;;
esac
FLAVOR=${FLAVOR:-debug}
RTRS_SRV_PARAMS=${RTRS_SRV_PARAMS:-}
for p in $RTRS_SRV_PARAMS; do
	[[ "$p" =~ ^[a-z_]+=[A-Za-z0-9]+$ ]] || die "vmtest: RTRS_SRV_PARAMS: '$p' is not name=value"
done
export RTRS_SRV_PARAMS

tag="clt-${RTRS_CLIENT}${RNBD_CLIENT}_srv-${RTRS_SERVER}${RNBD_SERVER}_${SOFT_RDMA}_${FLAVOR}"
# Server parameters get their own results folder: srv-params-always_invalidate-N, ...
[ -z "$RTRS_SRV_PARAMS" ] || tag="${tag}_srv-params-$(echo $RTRS_SRV_PARAMS | tr ' =' '_-')"
RESULTS=${RESULTS:-$repo/results/vmtest/$tag}
if [ "$RTRS_CLIENT$RTRS_SERVER$RNBD_CLIENT$RNBD_SERVER" != cccc ]; then
	for m in rtrs_client rtrs_server rnbd_client rnbd_server; do
		[ -f "$repo/$m.ko" ] || die "vmtest: $repo/$m.ko not built (run 'make')"
	done
fi

step "vmtest: $tag: booting the $FLAVOR kernel under TCG"
start=$(date +%s)
REPO=$repo
vm_rc=0
write_config "$RESULTS"
boot_guest "$FLAVOR" "$RESULTS" "${VM_TIMEOUT:-2400}" "$repo/tools/testing/vm/guest.sh" || vm_rc=$?
step "vmtest: $tag: guest finished after $(( $(date +%s) - start )) s (exit $vm_rc)"

exec "$repo/tools/testing/vm/report.sh" "$RESULTS" "$tag"
