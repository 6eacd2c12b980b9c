# SPDX-License-Identifier: GPL-2.0-or-later
# Faults of the reliability plan (notes/reliability.md §5.3), in versions short enough for
# make check: a soft-RDMA link removed under IO (C5), the soft-RDMA driver removed under IO
# (E3), unmap racing rmmod (E1), the self-deleting sysfs attributes under a reader (A3),
# permit exhaustion (F2). The C modules
# are the reference; uses start_fio_verify, stop_fio_verify, path_dir and path_connected
# from 10-conformance.sh, map_two, rdma_col, srv_has_path, dev_state_is and
# unload_server_modules from 20-paths.sh.

# returns_within SECONDS CMD...: runs CMD in the background; it must end within SECONDS
# (a task stuck in the kernel cannot be killed: the case fails at once instead of hanging
# until its time limit) and succeed.
returns_within() {
	local secs=$1; shift
	"$@" &
	local pid=$!
	wait_until "$secs" eval '! kill -0 $pid 2>/dev/null' || fail "'$*' did not return within $secs s"
	wait $pid || fail "'$*' failed"
}

# The reader of hold_reader: opens the file once, then reads it from the start again and
# again (pread) until a read fails or finds nothing; ENODEV (kernfs: the file was removed),
# ENOENT or an empty read end it with 0, another error with 1. It touches argv[2] after its
# first read.
READER_PY='import errno, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
n = 0
try:
    while os.pread(fd, 4096, 0):
        n += 1
        if n == 1:
            open(sys.argv[2], "w").close()
    print("reader: %d reads of %s, then an empty one" % (n, sys.argv[1]))
except OSError as e:
    print("reader: %d reads of %s, then %s" % (n, sys.argv[1], e))
    sys.exit(0 if e.errno in (errno.ENODEV, errno.ENOENT) else 1)'
# hold_reader FILE: starts the reader on FILE and waits for its first read; sets READER_PID.
hold_reader() {
	rm -f "$CASE_DIR/reader.up"
	python3 -c "$READER_PY" "$1" "$CASE_DIR/reader.up" &
	READER_PID=$!
	wait_until 30 test -e "$CASE_DIR/reader.up" || fail "the reader of $1 did not start"
}
# reader_ends: the reader ends within 10 s (its file is gone), on ENODEV or ENOENT.
reader_ends() {
	wait_until 10 eval '! kill -0 $READER_PID 2>/dev/null' || fail "the reader still reads 10 s after its file went"
	wait $READER_PID || fail "the reader ended on an unexpected error"
}

# C5: rxe1, the link of path 2, is deleted under fio verify (ib_unregister_device: the
# rdma_cm users get DEVICE_REMOVAL and must let go of it), then added again.
# rxe1_restore: rxe1 back on dummy0 if it is gone (the later cases need it).
rxe1_restore() {
	[ -e /sys/class/infiniband/rxe1 ] || rdma link add rxe1 type rxe netdev dummy0
}
register rdma_link_del_io 300 "$ALL_MODULES"
case_rdma_link_del_io() {
	local p1 p2 w
	map_two s_ld
	p1=$(path_dir s_ld "$ADDR1") && p2=$(path_dir s_ld "$ADDR2") || fail "client paths missing"
	[ "$(cat "$p2/hca_name")" = rxe1 ] || fail "path 2 is on $(cat "$p2/hca_name"), not rxe1"
	start_fio_verify 120
	trap 'kill $FIO_PID 2>/dev/null && wait $FIO_PID; rxe1_restore' EXIT
	# Returns once every user of the device let go of it.
	returns_within 60 rdma link del rxe1
	wait_until 20 eval '! path_connected "$p2"' || fail "path 2 stays connected without its link"
	wait_until 20 eval '! srv_has_path s_ld $ADDR2' || fail "the server keeps the path over the removed link"
	# IO goes on over path 1.
	w=$(rdma_col "$p1" 3)
	wait_until 30 eval '[ "$(rdma_col "$p1" 3)" -gt $((w + 64)) ]' || fail "no writes over path 1 after the link went"
	kill -0 $FIO_PID 2>/dev/null || fail "fio ended after the link went: $(tail -3 "$CASE_DIR/fio-mpath.log")"
	rdma link add rxe1 type rxe netdev dummy0 || fail "rdma link add rxe1"
	# C leaves the path closed after DEVICE_REMOVAL, ours tries again after the reconnect
	# delay (30 s): reconnect it now (it fails with ENOTCONN until rxe1 has its GID).
	wait_until 60 eval 'path_connected "$p2" || { sysfs_write "$p2/reconnect" 1; path_connected "$p2"; }' \
		|| fail "path 2 does not reconnect over the new rxe1"
	[ "$(cat "$p2/hca_name")" = rxe1 ] || fail "path 2 reconnected on $(cat "$p2/hca_name"), not rxe1"
	wait_until 10 srv_has_path s_ld "$ADDR2" || fail "no server path to $ADDR2 after the reconnect"
	w=$(rdma_col "$p2" 3)
	wait_until 30 eval '[ "$(rdma_col "$p2" 3)" -gt $w ]' || fail "no writes over path 2 after the reconnect"
	stop_fio_verify
	unmap "$DEV"
	expect_clean
}

# E3: the soft-RDMA driver goes (rmmod rdma_rxe: both links, every connection of both
# paths) under IO; every RDMA user lets go through its ib_client remove callback, so rmmod
# returns. IO may fail while no path exists (no verify then); both links come back, the
# paths reconnect (through reconnect: ours would wait out the reconnect delay), the device
# is open again and fio verify passes on it.
# rxe_restore: rdma_rxe, rxe0 and rxe1 back as the boot made them (the later cases need them).
rxe_restore() {
	[ -d /sys/module/rdma_rxe ] || modprobe rdma_rxe || return 1
	[ -e /sys/class/infiniband/rxe0 ] || rdma link add rxe0 type rxe netdev "$NIC" || return 1
	rxe1_restore
}
register rxe_rmmod_io 300 "$ALL_MODULES"
case_rxe_rmmod_io() {
	local s=/sys/class/rtrs-client/s_rr p
	map_two s_rr
	local n=${DEV#/dev/}
	fio_load load "$DEV" 120
	trap 'kill $FIO_PID 2>/dev/null && wait $FIO_PID; rxe_restore' EXIT
	returns_within 90 rmmod rdma_rxe
	[ -z "$(ls /sys/class/infiniband 2>/dev/null)" ] || fail "devices left: $(ls /sys/class/infiniband)"
	for p in $s/paths/*; do
		wait_until 20 eval '! path_connected "$p"' || fail "${p##*/} stays connected without its link"
	done
	wait_until 20 eval '[ -z "$(ls /sys/class/rtrs-server/s_rr/paths 2>/dev/null)" ]' \
		|| fail "the server keeps paths without a device: $(ls /sys/class/rtrs-server/s_rr/paths)"
	kill $FIO_PID 2>/dev/null; wait $FIO_PID
	rxe_restore || fail "soft-RDMA does not come back"
	for p in $s/paths/*; do
		wait_until 60 eval 'path_connected "$p" || { sysfs_write "$p/reconnect" 1; path_connected "$p"; }' \
			|| fail "${p##*/} does not reconnect over the new links"
	done
	wait_until 30 dev_state_is $n open || fail "$n is '$(cat /sys/block/$n/rnbd/state)' after the reconnect"
	fio_run verify --filename="$DEV" "${FIO_VERIFY[@]}" --size=4M
	unmap "$DEV"
	expect_clean
}

# E1, short: map, unmap and at once rmmod rnbd_client (the close may still be in flight);
# rmmod may be refused while it is, never hang; each load maps again. A cycle takes about
# 6 s under TCG: MAP_CYCLES / 5 cycles, 2 in make check, 20 in make matrix and vmtest.
register unmap_rmmod_race 300 "$ALL_MODULES"
case_unmap_rmmod_race() {
	local i n cycles=$(( ${MAP_CYCLES:-100} / 5 ))
	trap load_modules EXIT
	for i in $(seq $(( cycles > 0 ? cycles : 1 ))); do
		map s_ur /dev/ram0
		n=${DEV#/dev/}
		[ "$n" = rnbd0 ] || fail "cycle $i mapped $DEV"
		expect_write OK "/sys/block/$n/rnbd/unmap_device" normal
		wait_until 20 rmmod rnbd_client \
			|| fail "cycle $i: rmmod rnbd_client refused for 20 s, refcount $(cat /sys/module/rnbd_client/refcnt)"
		[ ! -e "/sys/block/$n" ] || fail "cycle $i: /sys/block/$n outlives rnbd_client"
		[ ! -e /sys/class/rtrs-client/s_ur ] || fail "cycle $i: the rtrs-client session outlives rnbd_client"
		load_modules
	done
	map s_ur /dev/ram0
	dd if="$DEV" of=/dev/null bs=64k count=16 iflag=direct status=none || fail "read from $DEV"
	unmap "$DEV"
	expect_clean
}

# A3: the attributes that delete themselves (rtrs-client remove_path, rtrs-server
# disconnect, rnbd-server force_close), each written while a reader holds it open and
# re-reads it: the write returns, the reader gets an error once the file is gone.
register self_delete_attr_reader 300 "$ALL_MODULES"
case_self_delete_attr_reader() {
	local s=/sys/class/rtrs-client/s_sd3 p sp ss=$RNBD_SRV_CTL/devices/ram0/sessions/s_sd3
	trap 'kill ${READER_PID:-} 2>/dev/null' EXIT
	map_two s_sd3
	p=$(path_dir s_sd3 "$ADDR2") || fail "no client path to $ADDR2"
	hold_reader "$p/remove_path"
	returns_within 10 expect_write OK "$p/remove_path" 1
	[ ! -e "$p" ] || fail "${p##*/} stays after remove_path"
	reader_ends
	wait_until 20 eval '! srv_has_path s_sd3 $ADDR2' || fail "the server keeps the removed path"
	expect_write OK $s/add_path "ip:$ADDR2"
	path_connected "$p" || fail "${p##*/} not connected after add_path"
	wait_until 10 srv_has_path s_sd3 "$ADDR2" || fail "no server path to $ADDR2 after add_path"
	# The server closes the path (the client would reconnect it after 30 s).
	sp=$(ls -d /sys/class/rtrs-server/s_sd3/paths/*@ip:$ADDR2) || fail "no server path to $ADDR2"
	hold_reader "$sp/disconnect"
	returns_within 10 expect_write OK "$sp/disconnect" 1
	reader_ends
	wait_until 20 eval '! srv_has_path s_sd3 $ADDR2' || fail "the server path stays after disconnect"
	wait_until 20 eval '! path_connected "$p"' || fail "the client did not see the server disconnect"
	# The server drops its use of ram0; the client device stays mapped, its IO fails.
	hold_reader "$ss/force_close"
	returns_within 10 expect_write OK "$ss/force_close" 1
	reader_ends
	wait_until 10 test ! -e "$ss" || fail "$ss stays after force_close"
	if dd if="$DEV" of=/dev/null bs=4k count=1 iflag=direct status=none 2>/dev/null; then
		fail "read from $DEV succeeded after force_close"
	fi
	unmap "$DEV"
	expect_clean
}

# F2: rtrs_server with sess_queue_depth=16 (16 permits, 16 tags per hardware queue) under
# fio verify with 4 jobs of 64 in flight: requests wait for permits and tags, none fails.
# server_reload [PARAM...]: rnbd_server and rtrs_server loaded again, rtrs_server with the
# run's RTRS_SRV_PARAMS and PARAMs.
server_reload() {
	[ ! -d /sys/module/rtrs_server ] || unload_server_modules
	RTRS_SRV_PARAMS="${RTRS_SRV_PARAMS:-} $*" load_modules
}
register permit_exhaustion 300 "$ALL_MODULES"
case_permit_exhaustion() {
	trap 'unmap_all; wait_until 20 no_leftovers; server_reload' EXIT
	server_reload sess_queue_depth=16
	[ "$(cat /sys/module/rtrs_server/parameters/sess_queue_depth)" = 16 ] || fail "sess_queue_depth is not 16"
	map s_pe /dev/ram0
	local n=${DEV#/dev/}
	[ "$(cat /sys/block/$n/mq/0/nr_tags)" = 16 ] \
		|| fail "$n has $(cat /sys/block/$n/mq/0/nr_tags) tags per hardware queue, expected 16 (the server's queue depth)"
	fio_run permits --filename="$DEV" "${FIO_VERIFY[@]}" --iodepth=64 --numjobs=4 --size=2M \
		--offset_increment=2M --group_reporting
	grep -q "err= 0" "$CASE_DIR/fio-permits.log" || fail "fio reports errors"
	unmap "$DEV"
	expect_clean
}
