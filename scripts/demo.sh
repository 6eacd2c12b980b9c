#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make demo: builds what is missing, boots the test kernel, starts soft-RoCE, maps a ram disk
# of the server through RNBD, runs a short fio, prints IOPS, latency and the sysfs state of
# the session, then unmaps and shuts the guest down.
#
# DEMO_IMPL=c|rust picks the modules (default: c until the Rust modules serve IO, see
# tools/testing/rust-status); FLAVOR=debug|perf picks the kernel (perf gives honest numbers).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
. scripts/lib.sh

FLAVOR=${FLAVOR:-debug}
if [ -z "${DEMO_IMPL:-}" ]; then
	DEMO_IMPL=rust
	grep -q '^rnbd_client *XFAIL\|^rnbd_server *XFAIL\|^rtrs_client *XFAIL\|^rtrs_server *XFAIL' \
		tools/testing/rust-status && DEMO_IMPL=c
fi
scripts/deps.sh || die "demo: installing dependencies failed"
scripts/kernel.sh "$FLAVOR" >/dev/null || die "demo: building the $FLAVOR kernel failed"
if [ "$DEMO_IMPL" = rust ]; then
	make -s modules FLAVOR="$FLAVOR" || die "demo: building the Rust modules failed"
fi
out=$repo/results/demo
REPO=$repo
RTRS_CLIENT=$DEMO_IMPL RTRS_SERVER=$DEMO_IMPL RNBD_CLIENT=$DEMO_IMPL RNBD_SERVER=$DEMO_IMPL
SOFT_RDMA=${SOFT_RDMA:-rxe}
step "demo: booting the $FLAVOR kernel under QEMU (TCG) with the $DEMO_IMPL modules"
rc=0
write_config "$out"
boot_guest "$FLAVOR" "$out" 900 "$repo/scripts/demo-guest.sh" || rc=$?
if [ -f "$out/demo.txt" ]; then cat "$out/demo.txt"; fi
[ "$rc" = 0 ] && [ -f "$out/done" ] || die "demo: the guest run failed (exit $rc); logs in $out"
