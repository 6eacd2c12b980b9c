#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Guest side of make demo: what an admin types, with what it prints.
set -uo pipefail
out=$1
. "$out/config.sh"
. "$REPO/tools/testing/vm/lib.sh"
exec 3>"$out/demo.txt" >"$out/guest.log" 2>&1
say() { printf '%s\n' "$*" >&3; }
run() { say "# $*"; "$@" >&3 2>&1; }
die() { say "demo: $*"; exit 1; }

say "== soft-RoCE ($SOFT_RDMA) on the guest NIC"
{ start_soft_rdma "$SOFT_RDMA" && use_soft_rdma "$SOFT_RDMA"; } || die "soft-RDMA set-up failed"
run rdma link show
say "== server and client modules ($RNBD_CLIENT)"
(load_modules) || die "loading the modules failed"
run modprobe brd rd_nr=1 rd_size=262144
say "== map the server's /dev/ram0"
dmesg -C
say "# echo \"sessname=demo path=ip:$ADDR1 device_path=/dev/ram0\" > $RNBD_CTL/map_device"
sysfs_write "$RNBD_CTL/map_device" "sessname=demo path=ip:$ADDR1 device_path=/dev/ram0"
[ "$WRITE_RESULT" = OK ] || die "map_device failed: $WRITE_RESULT"
dev=/dev/$(rnbd_of demo /dev/ram0) || die "no rnbd device for the mapping"
wait_until 10 test -b "$dev" || die "$dev did not appear"
dmesg | sed 's/^/  dmesg: /' >&3
say "== fio: 4 KiB random read, queue depth 32, 10 s on $dev"
fio --name=demo --filename="$dev" --direct=1 --ioengine=libaio --rw=randread --bs=4k \
	--iodepth=32 --runtime=10 --time_based --output-format=json --output="$out/fio.json" \
	|| die "fio failed"
python3 - "$out/fio.json" >&3 <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))["jobs"][0]["read"]
lat = j["clat_ns"]
p = lat.get("percentile", {})
print(f"  IOPS {j['iops']:.0f}, bandwidth {j['bw'] / 1024:.1f} MiB/s")
print(f"  completion latency: mean {lat['mean'] / 1000:.0f} us, "
      f"p50 {p.get('50.000000', 0) / 1000:.0f} us, p99 {p.get('99.000000', 0) / 1000:.0f} us")
PY
say "== sysfs state"
n=${dev#/dev/}
for f in state session mapping_path access_mode nr_poll_queues; do
	say "  /sys/block/$n/rnbd/$f: $(cat /sys/block/$n/rnbd/$f)"
done
s=/sys/class/rtrs-client/demo
say "  $s/mpath_policy: $(cat $s/mpath_policy)"
for p in $s/paths/*; do
	say "  path ${p##*/}: state $(cat $p/state), hca $(cat $p/hca_name) port $(cat $p/hca_port)"
	say "    stats/rdma (reads, read bytes, writes, write bytes, inflight, failover): $(cat $p/stats/rdma)"
done
say "  server: $(ls /sys/class/rtrs-server) -> $(ls /sys/class/rtrs-server/demo/paths)"
say "== unmap"
say "# echo normal > /sys/block/$n/rnbd/unmap_device"
sysfs_write "/sys/block/$n/rnbd/unmap_device" normal
[ "$WRITE_RESULT" = OK ] || die "unmap_device failed: $WRITE_RESULT"
wait_until 10 test ! -e "/sys/block/$n" || die "$n still there after unmap"
say "  $dev is gone; the session closed with its last device"
touch "$out/done"
