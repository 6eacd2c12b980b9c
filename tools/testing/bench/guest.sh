#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Guest side of make bench: soft-RoCE on the guest NIC, then the whole matrix in this one
# boot (tools/testing/bench/lib.sh, bench_run). Usage: guest.sh OUT (OUT/config.sh has
# REPO and the BENCH_* settings); the verdict goes to OUT/bench.result.
set -uo pipefail
OUT=$1
. "$OUT/config.sh"
. "$REPO/tools/testing/vm/lib.sh"
. "$REPO/tools/testing/bench/lib.sh"
# An empty BENCH_CELLS means all of them.
[ -n "$BENCH_CELLS" ] || BENCH_CELLS=$BENCH_ALL_CELLS
exec > "$OUT/guest.log" 2>&1
set -x
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
dmesg > "$OUT/boot.dmesg"
start_soft_rdma rxe && use_soft_rdma rxe || { echo "FAIL soft-RoCE set-up" > "$OUT/bench.result"; exit 1; }
# Jumbo frames: a 4 KiB IO in one RoCE packet (the RoCE MTU follows the netdev's: 4096).
ip link set "$NIC" mtu 9000 && ip link set dummy0 mtu 9000 || { echo "FAIL MTU 9000" > "$OUT/bench.result"; exit 1; }
modprobe null_blk nr_devices=0 || { echo "FAIL modprobe null_blk" > "$OUT/bench.result"; exit 1; }
if bench_run "$OUT"; then echo PASS > "$OUT/bench.result"; else echo "FAIL some blocks failed (see guest.log)" > "$OUT/bench.result"; fi
backing_down
sync
