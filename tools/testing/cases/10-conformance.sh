# SPDX-License-Identifier: GPL-2.0-or-later
# Conformance suite: what an admin sees of RNBD/RTRS, checked against the sysfs ABI of
# Linux 6.12 (../shared/spec/sysfs-abi.md). The C modules are the reference.

# map DEV, check the mapping from both ends, unmap, check that nothing is left.
map_check_unmap() {
	local sess=$1 backing=$2 kname=$3
	map "$sess" "$backing"
	local n=${DEV#/dev/}
	[ "$(blockdev --getsize64 "$DEV")" = "$(blockdev --getsize64 "$backing")" ] \
		|| fail "$DEV size differs from $backing"
	[ "$(read_attr /sys/block/$n/rnbd/state)" = open ] || fail "$n state is not open"
	[ -d /sys/class/rtrs-client/$sess ] || fail "no /sys/class/rtrs-client/$sess"
	wait_until 10 test -d /sys/class/rtrs-server/$sess || fail "no /sys/class/rtrs-server/$sess"
	[ -d "$RNBD_SRV_CTL/devices/$kname/sessions/$sess" ] \
		|| fail "no $RNBD_SRV_CTL/devices/$kname/sessions/$sess"
	dd if="$DEV" of=/dev/null bs=64k count=16 iflag=direct status=none || fail "read from $DEV"
	unmap "$DEV"
	[ ! -e /sys/class/rtrs-client/$sess ] || fail "rtrs-client session $sess stays after unmap"
	expect_clean
}

register map_unmap_brd 300 "$ALL_MODULES"
case_map_unmap_brd() { map_check_unmap s_brd /dev/ram0 ram0; }

register map_unmap_null_blk 300 "$ALL_MODULES"
case_map_unmap_null_blk() { map_check_unmap s_nullb /dev/nullb0 nullb0; }

# /dev/rnbd<N>: lowest free index, 64 minors per device, the index reused after unmap.
register rnbd_numbering 300 "$ALL_MODULES"
case_rnbd_numbering() {
	map s_num /dev/ram0; local a=$DEV
	map s_num /dev/ram1; local b=$DEV
	[ "$a" = /dev/rnbd0 ] && [ "$b" = /dev/rnbd1 ] || fail "got $a and $b, expected rnbd0 and rnbd1"
	local maj
	maj=$(awk '$2 == "rnbd" { print $1 }' /proc/devices)
	[ -n "$maj" ] || fail "no 'rnbd' block major in /proc/devices"
	[ "$(cat /sys/block/rnbd0/dev)" = "$maj:0" ] || fail "rnbd0 is $(cat /sys/block/rnbd0/dev), expected $maj:0"
	[ "$(cat /sys/block/rnbd1/dev)" = "$maj:64" ] || fail "rnbd1 is $(cat /sys/block/rnbd1/dev), expected $maj:64"
	[ -L "$RNBD_CTL/devices/!dev!ram0@s_num" ] || fail "no devices/!dev!ram0@s_num symlink"
	[ "$(readlink -f "$RNBD_CTL/devices/!dev!ram1@s_num")" = "$(readlink -f /sys/block/rnbd1)" ] \
		|| fail "devices/!dev!ram1@s_num does not point at rnbd1"
	unmap /dev/rnbd0
	map s_num /dev/nullb0
	[ "$DEV" = /dev/rnbd0 ] || fail "after unmapping rnbd0 the next map got $DEV"
	unmap /dev/rnbd0
	unmap /dev/rnbd1
	expect_clean
}

# check_attr PATH MODE REGEX: mode (octal) and read format of a sysfs entry.
check_attr() {
	[ -e "$1" ] || fail "missing $1"
	local mode
	mode=$(stat -c %a "$1")
	[ "$mode" = "$2" ] || fail "$1 has mode $mode, expected $2"
	local v
	v=$(cat "$1") || fail "read $1"
	[[ "$v" =~ $3 ]] || fail "$1 reads '$v', expected /$3/"
}

# The entries a path directory has on both sides (§2.3, §3.1): named <src>@<dst>.
check_path_dir() {
	local ip='ip:[0-9.]+'
	[[ "${1##*/}" =~ ^$ip@$ip$ ]] || fail "path directory name '${1##*/}'"
	check_attr $1/hca_name 444 "^${SOFT_RDMA}[0-3]$"
	check_attr $1/hca_port 444 '^1$'
	check_attr $1/src_addr 444 "^$ip$"
	check_attr $1/dst_addr 444 "^$ip$"
	[ "$(cat $1/src_addr)@$(cat $1/dst_addr)" = "${1##*/}" ] || fail "$1: name differs from src@dst"
}

# Every entry of the four classes, with its mode and read format (sysfs-abi.md §1-5).
register sysfs_abi 300 "$ALL_MODULES"
case_sysfs_abi() {
	local usage
	# Module parameters (§1)
	check_attr /sys/module/rtrs_server/parameters/always_invalidate 444 '^[YN]$'
	check_attr /sys/module/rtrs_server/parameters/max_chunk_size 444 '^131072$'
	check_attr /sys/module/rtrs_server/parameters/sess_queue_depth 444 '^512$'
	check_attr /sys/module/rnbd_server/parameters/port_nr 444 '^1234$'
	check_attr /sys/module/rnbd_server/parameters/dev_search_path 444 '^/$'
	# rnbd-client control device (§4.1)
	usage='^Usage: echo "\[dest_port=server port number\] sessname=<name of the rtrs session> path=<\[srcaddr@\]dstaddr> \[path=<\[srcaddr@\]dstaddr>\] device_path=<full path on remote side> \[access_mode=<ro\|rw\|migration>\] \[nr_poll_queues=<number of queues>\]" > map_device'
	check_attr "$RNBD_CTL/map_device" 644 "$usage"
	[ "$(readlink -f /sys/class/rnbd-client/ctl)" = "$RNBD_CTL" ] || fail "class link rnbd-client/ctl"
	[ -d "$RNBD_CTL/devices" ] || fail "no $RNBD_CTL/devices"
	[ -d "$RNBD_SRV_CTL/devices" ] || fail "no $RNBD_SRV_CTL/devices"

	map s_abi /dev/ram0 "path=ip:$ADDR1 path=ip:$ADDR2"
	local n=${DEV#/dev/}
	# /sys/block/rnbd<N>/rnbd (§4.5)
	local b=/sys/block/$n/rnbd
	check_attr $b/state 444 '^open$'
	check_attr $b/session 444 '^s_abi$'
	check_attr $b/mapping_path 444 '^/dev/ram0$'
	check_attr $b/access_mode 444 '^rw$'
	check_attr $b/nr_poll_queues 444 '^0$'
	check_attr $b/unmap_device 644 '^Usage: echo <normal\|force> > unmap_device$'
	check_attr $b/remap_device 644 '^Usage: echo <1> > remap_device$'
	check_attr $b/resize 644 '^Usage: echo <new size in sectors> > resize$'
	[ "$(readlink -f "$RNBD_CTL/devices/!dev!ram0@s_abi")" = "$(readlink -f /sys/block/$n)" ] \
		|| fail "devices/!dev!ram0@s_abi does not point at $n"
	# rtrs-client session (§2.1-2.4)
	local s=/sys/class/rtrs-client/s_abi
	[ "$(readlink -f $s)" = /sys/devices/virtual/rtrs-client/s_abi ] || fail "$s is not a virtual device"
	check_attr $s/max_reconnect_attempts 644 '^-1$'
	check_attr $s/mpath_policy 644 '^min-inflight \(MI: 1\)$'
	check_attr $s/add_path 644 '^Usage: echo \[<source addr>@\]<destination addr> > add_path'
	local nr
	nr=$(ls $s/paths | wc -l)
	[ "$nr" = 2 ] || fail "$s/paths has $nr entries, expected 2"
	local p
	for p in $s/paths/*; do
		check_path_dir $p
		check_attr $p/state 444 '^connected$'
		check_attr $p/reconnect 644 '^Usage: echo 1 > reconnect$'
		check_attr $p/disconnect 644 '^Usage: echo 1 > disconnect$'
		check_attr $p/remove_path 644 '^Usage: echo 1 > remove_path$'
		check_attr $p/cur_latency 444 '^-?[0-9]+ ns$'
		check_attr $p/stats/cpu_migration_from 644 '^(-?[0-9]+ )+$'
		check_attr $p/stats/cpu_migration_to 644 '^(-?[0-9]+ )+$'
		check_attr $p/stats/reconnects 644 '^-?[0-9]+ -?[0-9]+$'
		check_attr $p/stats/rdma 644 '^[0-9]+ [0-9]+ [0-9]+ [0-9]+ [0-9]+ [0-9]+$'
		check_attr $p/stats/reset_all 644 '^echo 1 to reset all statistics$'
		[ "$(cat $p/stats/reconnects)" = "0 0" ] || fail "$p/stats/reconnects is not '0 0' after connect"
		expect_write EINVAL $p/stats/rdma 0
		expect_write OK $p/stats/reset_all 1
	done
	# rtrs-server session (§3)
	local v=/sys/class/rtrs-server/s_abi
	wait_until 10 test -d $v || fail "no $v"
	[ "$(ls $v/paths | wc -l)" = 2 ] || fail "$v/paths does not have 2 entries"
	for p in $v/paths/*; do
		check_path_dir $p
		check_attr $p/disconnect 644 '^Usage: echo 1 > disconnect$'
		check_attr $p/stats/rdma 644 '^[0-9]+ [0-9]+ [0-9]+ [0-9]+$'
	done
	# rnbd-server (§5)
	local d=$RNBD_SRV_CTL/devices/ram0
	[ -L $d/block_dev ] || fail "$d/block_dev is not a symlink"
	[ "$(readlink -f $d/block_dev)" = "$(readlink -f /sys/block/ram0)" ] || fail "$d/block_dev points elsewhere"
	local ss=$d/sessions/s_abi
	check_attr $ss/access_mode 444 '^rw$'
	check_attr $ss/read_only 444 '^0$'
	check_attr $ss/mapping_path 444 '^/dev/ram0$'
	check_attr $ss/force_close 644 '^Usage: echo 1 > force_close$'
	unmap "$DEV"
	expect_clean
}

# fio crc32c write-then-verify on a brd-backed mapping.
register fio_verify_brd 600 "$ALL_MODULES"
case_fio_verify_brd() {
	map s_fio /dev/ram0
	fio_run verify --filename="$DEV" "${FIO_VERIFY[@]}" --size=4M
	unmap "$DEV"
	expect_clean
}

# access_mode=ro: the disk is read-only, opening it for writing fails, reads work.
register access_mode_ro 300 "$ALL_MODULES"
case_access_mode_ro() {
	map s_ro /dev/ram1 access_mode=ro
	local n=${DEV#/dev/}
	[ "$(cat /sys/block/$n/ro)" = 1 ] || fail "/sys/block/$n/ro is not 1"
	[ "$(cat /sys/block/$n/rnbd/access_mode)" = ro ] || fail "access_mode does not read ro"
	[ "$(cat $RNBD_SRV_CTL/devices/ram1/sessions/s_ro/read_only)" = 1 ] || fail "server read_only is not 1"
	dd if="$DEV" of=/dev/null bs=4k count=16 iflag=direct status=none || fail "read from ro $DEV"
	if dd if=/dev/zero of="$DEV" bs=4k count=1 oflag=direct status=none 2>"$CASE_DIR/dd.err"; then
		fail "write to access_mode=ro $DEV succeeded"
	fi
	grep -q "Operation not permitted\|Read-only" "$CASE_DIR/dd.err" || fail "write failed oddly: $(cat "$CASE_DIR/dd.err")"
	unmap "$DEV"
	expect_clean
}

# The bad map_device inputs of sysfs-abi.md §4.2-4.3: each returns its documented errno and
# leaves no session, device or minor behind.
register map_bad_input 600 "$ALL_MODULES"
case_map_bad_input() {
	local m=$RNBD_CTL/map_device ok="path=ip:$ADDR1 device_path=/dev/ram0"
	local long
	long=$(printf 'x%.0s' {1..256})
	expect_write EINVAL $m ""
	expect_write EINVAL $m "   "
	expect_write EINVAL $m "path=ip:$ADDR1 device_path=/dev/ram0"
	expect_write EINVAL $m "sessname=s_bad path=ip:$ADDR1"
	expect_write ENXIO $m "sessname=s_bad device_path=/dev/ram0"
	expect_write EINVAL $m "sessname=s_bad $ok access_mode=bogus"
	expect_write EINVAL $m "sessname=s_bad $ok access_mode=RW"
	expect_write EINVAL $m "sessname=s_bad $ok bogus=1"
	expect_write EINVAL $m "sessname=s_bad $ok sessname="
	expect_write EINVAL $m "sessname=s_bad $ok dest_port=65536"
	expect_write EINVAL $m "sessname=s_bad $ok dest_port=-1"
	expect_write EINVAL $m "sessname=s_bad $ok dest_port=12x"
	expect_write EINVAL $m "sessname=s_bad $ok nr_poll_queues=-2"
	expect_write EINVAL $m "sessname=s_bad $ok nr_poll_queues=100000"
	expect_write EPROTONOSUPPORT $m "sessname=s_bad path=$ADDR1 device_path=/dev/ram0"
	expect_write EINVAL $m "sessname=s_bad path=ip:999.0.0.1 device_path=/dev/ram0"
	expect_write EINVAL $m "sessname=s_bad path=gid:zz device_path=/dev/ram0"
	expect_write EINVAL $m "sessname=s_bad path=bogus@ip:$ADDR1 device_path=/dev/ram0"
	local seven=
	for _ in 1 2 3 4 5 6 7; do seven="$seven path=ip:$ADDR1"; done
	expect_write ENOMEM $m "sessname=s_bad $seven device_path=/dev/ram0"
	expect_write EINVAL $m "sessname=$long $ok"
	expect_write EINVAL $m "sessname=s_bad path=ip:$ADDR1 device_path=/$long"
	expect_write EINVAL $m "sessname=s/bad $ok"
	expect_write EINVAL $m "sessname=s.bad $ok"
	[ -z "$(leftovers)" ] || fail "left behind after parse errors: $(leftovers | tr '\n' ' ')"
	# Refused by the server: the session made for the attempt goes away again.
	expect_write ENOENT $m "sessname=s_bad path=ip:$ADDR1 device_path=/dev/no_such_dev"
	expect_write EINVAL $m "sessname=s_bad path=ip:$ADDR1 device_path=/dev/../dev/ram0"
	expect_clean
	# Nobody listens on port 1: the connect fails and nothing is left.
	sysfs_write $m "sessname=s_bad dest_port=1 path=ip:$ADDR1 device_path=/dev/ram0"
	[ "$WRITE_RESULT" != OK ] || fail "map to port 1 succeeded"
	expect_clean
	# Mapping the same device_path twice in one session.
	map s_bad /dev/ram0
	[ "$DEV" = /dev/rnbd0 ] || fail "first good map got $DEV: a minor leaked"
	expect_write EEXIST $m "sessname=s_bad $ok"
	unmap "$DEV"
	expect_clean
}

# Two paths (two rxe/siw links); one is disconnected and reconnected while fio verifies.
register two_paths_disconnect 600 "$ALL_MODULES"
case_two_paths_disconnect() {
	map s_mp /dev/ram0 "path=ip:$ADDR1 path=ip:$ADDR2"
	local p
	p=$(path_dir s_mp "$ADDR1") || fail "no client path to $ADDR1"
	start_fio_verify 120
	expect_write OK "$p/disconnect" 1
	[ "$(cat "$p/state")" = disconnected ] || fail "path not disconnected after disconnect"
	sleep 3
	kill -0 $FIO_PID 2>/dev/null || fail "fio stopped while one path was down"
	expect_write OK "$p/reconnect" 1
	path_connected "$p" || fail "path not connected after reconnect"
	sleep 3
	stop_fio_verify
	unmap "$DEV"
	expect_clean
}

# The server closes one path (rtrs-server .../disconnect); the client fails over and
# reconnects the path (by itself when it is ours: await_reconnect).
register server_path_disconnect 600 "$ALL_MODULES"
case_server_path_disconnect() {
	map s_sd /dev/ram0 "path=ip:$ADDR1 path=ip:$ADDR2"
	local cp sp
	cp=$(path_dir s_sd "$ADDR2") || fail "no client path to $ADDR2"
	wait_until 10 test -d /sys/class/rtrs-server/s_sd || fail "no server session"
	sp=$(ls -d /sys/class/rtrs-server/s_sd/paths/*@ip:$ADDR2) || fail "no server path to $ADDR2"
	start_fio_verify 180
	expect_write OK "$sp/disconnect" 1
	wait_until 20 eval '! path_connected "$cp"' || fail "client did not see the server disconnect"
	await_reconnect "$cp" || fail "client path did not reconnect within 90 s (delay: 30 s + up to 8 s)"
	[ "$(cut -d' ' -f1 "$cp/stats/reconnects")" -ge 1 ] || fail "reconnects counter did not move"
	sleep 3
	stop_fio_verify
	unmap "$DEV"
	expect_clean
}

# mpath_policy: every accepted spelling, the read-back format, a bad value, all under IO.
register mpath_policy_switch 600 "$ALL_MODULES"
case_mpath_policy_switch() {
	map s_pol /dev/ram0 "path=ip:$ADDR1 path=ip:$ADDR2"
	local f=/sys/class/rtrs-client/s_pol/mpath_policy
	start_fio_verify 120
	local w want round
	for round in 1 2; do
		for w in round-robin:'round-robin (RR: 0)' 1:'min-inflight (MI: 1)' ML:'min-latency (ML: 2)' \
			0:'round-robin (RR: 0)' mi:'min-inflight (MI: 1)' 2:'min-latency (ML: 2)' \
			min-inflight:'min-inflight (MI: 1)' rr:'round-robin (RR: 0)' min-latency:'min-latency (ML: 2)'; do
			want=${w#*:}
			expect_write OK $f "${w%%:*}"
			[ "$(cat $f)" = "$want" ] || fail "after '${w%%:*}' mpath_policy reads '$(cat $f)'"
			sleep 0.5
		done
	done
	expect_write EINVAL $f 3
	expect_write EINVAL $f bogus
	[ "$(cat $f)" = 'min-latency (ML: 2)' ] || fail "a bad write changed the policy"
	stop_fio_verify
	# Both paths carried IO.
	local p
	for p in /sys/class/rtrs-client/s_pol/paths/*; do
		[ "$(cut -d' ' -f3 $p/stats/rdma)" -gt 0 ] || fail "path ${p##*/} carried no writes"
	done
	unmap "$DEV"
	expect_clean
}

# MAP_CYCLES (default 100) map/unmap cycles (blktests rnbd/002).
register map_unmap_cycles 900 "$ALL_MODULES"
case_map_unmap_cycles() {
	local i
	for i in $(seq "${MAP_CYCLES:-100}"); do
		map s_cyc /dev/ram0
		[ "$DEV" = /dev/rnbd0 ] || fail "cycle $i mapped $DEV"
		unmap "$DEV"
	done
	expect_clean
}
