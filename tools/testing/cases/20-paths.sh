# SPDX-License-Identifier: GPL-2.0-or-later
# Paths and servers that come and go under IO, and the multipath policies under verify.
# The C modules are the reference; uses start_fio_verify, wait_fio_verify, path_dir and
# path_connected from 10-conformance.sh.

# rdma_col PATHDIR N: field N of PATHDIR/stats/rdma (client: 1 read reqs, 2 read bytes,
# 3 write reqs, 4 write bytes, 5 inflight, 6 failed over).
rdma_col() { cut -d' ' -f"$2" "$1/stats/rdma"; }
# nr_entries DIR: number of entries of DIR (0 when it is gone).
nr_entries() { ls "$1" 2>/dev/null | wc -l; }
# srv_has_path SESS ADDR: the server session has a path to its address ADDR (the
# directory is CLIENT@SERVER; over rxe both are ADDR, over siw the client's is its own).
srv_has_path() { compgen -G "/sys/class/rtrs-server/$1/paths/*@ip:$2" >/dev/null; }
# dev_state_is rnbdN STATE: /sys/block/rnbdN/rnbd/state reads STATE.
dev_state_is() { [ "$(cat "/sys/block/$1/rnbd/state")" = "$2" ]; }
# srv_paths_are SESS N: the server session has N paths.
srv_paths_are() { [ "$(nr_entries "/sys/class/rtrs-server/$1/paths")" = "$2" ]; }
# map_two SESS: maps /dev/ram0 over both links and waits for the server's two paths.
map_two() {
	map "$1" /dev/ram0 "path=ip:$ADDR1 path=ip:$ADDR2"
	wait_until 10 srv_paths_are "$1" 2 || fail "server session $1 does not have 2 paths"
}

# A path removed under fio verify and added again: gone on both sides, back, carrying IO.
# add_path refuses bad addresses and a path the session has.
register remove_path_add_path 600 "$ALL_MODULES"
case_remove_path_add_path() {
	local s=/sys/class/rtrs-client/s_rp p name
	map_two s_rp
	# Round-robin: the path added back must get its share of the IO.
	expect_write OK $s/mpath_policy round-robin
	p=$(path_dir s_rp "$ADDR2") || fail "no client path to $ADDR2"
	name=${p##*/}
	start_fio_verify 300
	# fio itself can take a minute to start under TCG; then round-robin uses both paths.
	local p1
	p1=$(path_dir s_rp "$ADDR1") || fail "no client path to $ADDR1"
	wait_until 180 eval '[ "$(rdma_col "$p1" 3)" -gt 0 ] || [ "$(rdma_col "$p" 3)" -gt 0 ]' \
		|| fail "fio wrote nothing in 180 s"
	wait_until 30 eval '[ "$(rdma_col "$p1" 3)" -gt 0 ] && [ "$(rdma_col "$p" 3)" -gt 0 ]' \
		|| fail "round-robin left a path without writes: $(cat $s/paths/*/stats/rdma | tr '\n' ' ')"
	expect_write EINVAL "$p/remove_path" 0
	expect_write OK "$p/remove_path" 1
	[ ! -e "$p" ] || fail "$name stays after remove_path"
	[ "$(nr_entries $s/paths)" = 1 ] || fail "client has $(nr_entries $s/paths) paths after remove_path"
	wait_until 20 eval '! srv_has_path s_rp $ADDR2' || fail "server keeps the removed path"
	srv_paths_are s_rp 1 || fail "server lost the other path too"
	sleep 3
	kill -0 $FIO_PID 2>/dev/null || fail "fio stopped after remove_path"
	# Bad addresses: any parse error is EINVAL (no EPROTONOSUPPORT as for map_device).
	local bad
	for bad in "" garbage "$ADDR2" ip:999.0.0.1 gid:zz "bogus@ip:$ADDR2" "ip:$ADDR2@bogus"; do
		expect_write EINVAL $s/add_path "$bad"
	done
	# The path the session has: the server refuses a second path with the same addresses.
	expect_write EEXIST $s/add_path "ip:$ADDR1"
	[ "$(nr_entries $s/paths)" = 1 ] || fail "a refused add_path left a path behind"
	srv_paths_are s_rp 1 || fail "a refused add_path left a server path"
	kill -0 $FIO_PID 2>/dev/null || fail "fio ended before add_path"
	expect_write OK $s/add_path "ip:$ADDR2"
	[ -d "$p" ] || fail "add_path did not create $name"
	path_connected "$p" || fail "$name not connected after add_path"
	[ "$(cat "$p/stats/reconnects")" = "0 0" ] || fail "new path reads reconnects '$(cat "$p/stats/reconnects")'"
	wait_until 10 srv_has_path s_rp "$ADDR2" || fail "server has no path to $ADDR2 after add_path"
	wait_until 60 eval '[ "$(rdma_col "$p" 3)" -gt 0 ]' \
		|| fail "the added path carries no writes in 60 s: $(cat $s/paths/*/stats/rdma | tr '\n' ' ')"
	stop_fio_verify
	unmap "$DEV"
	expect_clean
}

# The other address forms (rtrs_addr_to_sockaddr): a link-local IPv6 address with its
# interface scope, by name or by number, connects (rxe carries IPv6); a scope that names no
# interface is refused. A GID parses (AF_IB) but finds no IB port under RoCE: the write fails
# as the reference's does and leaves nothing behind. (The 6.12 server takes addresses of
# different families for equal, so an IPv6 path cannot join an IPv4 session there.)
register path_addresses 300 "$ALL_MODULES"
case_path_addresses() {
	local s=/sys/class/rtrs-client/s_pa ll p
	ll=$(ip -6 -o addr show dev "$NIC" scope link | awk '{ sub(/\/.*/, "", $4); print $4; exit }')
	[ -n "$ll" ] || fail "no IPv6 link-local address on $NIC"
	expect_write EINVAL "$RNBD_CTL/map_device" "sessname=s_pa device_path=/dev/ram0 path=ip:$ll%nosuchnic"
	expect_clean
	map s_pa /dev/ram0 "path=ip:$ll%$NIC"
	p=$(ls -d $s/paths/*fe80* 2>/dev/null | head -1)
	[ -n "$p" ] || fail "no link-local path directory: $(ls $s/paths | tr '\n' ' ')"
	path_connected "$p" || fail "${p##*/} not connected"
	dd if="$DEV" of=/dev/null bs=64k count=16 iflag=direct status=none || fail "read from $DEV"
	expect_write EINVAL $s/add_path "ip:$ll%nosuchnic"
	expect_write EEXIST $s/add_path "ip:$ll%$(cat /sys/class/net/$NIC/ifindex)"
	expect_write ENODEV $s/add_path "gid:fe80::1"
	[ "$(nr_entries $s/paths)" = 1 ] || fail "a refused add_path left a path behind"
	unmap "$DEV"
	expect_clean
}

# The last path may be removed (C: the write succeeds; sysfs-abi.md §2.3). The device is
# then disconnected; add_path connects a new first path, the server sees a new session, and
# the device is mapped again on it.
register remove_last_path 600 "$ALL_MODULES"
case_remove_last_path() {
	local s=/sys/class/rtrs-client/s_lp p1 p2
	map_two s_lp
	local n=${DEV#/dev/}
	p1=$(path_dir s_lp "$ADDR1") || fail "no client path to $ADDR1"
	p2=$(path_dir s_lp "$ADDR2") || fail "no client path to $ADDR2"
	expect_write OK "$p2/remove_path" 1
	expect_write OK "$p1/remove_path" 1
	[ -d $s ] || fail "the session went away with its last path"
	[ "$(nr_entries $s/paths)" = 0 ] || fail "paths left after removing both: $(ls $s/paths)"
	wait_until 20 test ! -e /sys/class/rtrs-server/s_lp || fail "server keeps the session without paths"
	wait_until 10 dev_state_is $n closed \
		|| fail "$n state is '$(cat /sys/block/$n/rnbd/state)' without paths, expected closed"
	if dd if="$DEV" of=/dev/null bs=4k count=1 iflag=direct status=none 2>/dev/null; then
		fail "read from $DEV succeeded without a path"
	fi
	expect_write OK $s/add_path "ip:$ADDR1"
	path_connected "$p1" || fail "${p1##*/} not connected after add_path"
	wait_until 10 test -d /sys/class/rtrs-server/s_lp || fail "no server session after add_path"
	wait_until 20 dev_state_is $n open \
		|| fail "$n not open again after add_path: '$(cat /sys/block/$n/rnbd/state)'"
	wait_until 10 test -d "$RNBD_SRV_CTL/devices/ram0/sessions/s_lp" || fail "server did not open ram0 again"
	fio_run verify-lp --filename="$DEV" "${FIO_VERIFY[@]}" --size=4M
	unmap "$DEV"
	expect_clean
}

# mpath_verify SESS POLICY: fio crc32c verify over two paths with POLICY set before any IO.
# Sets R1 W1 I1 (path 1) and R2 W2 I2 (path 2): read and write requests, inflight; F: the
# requests failed over (only after a path error).
mpath_verify() {
	local sess=$1 s=/sys/class/rtrs-client/$1 p1 p2
	map_two "$sess"
	expect_write OK $s/mpath_policy "$2"
	p1=$(path_dir "$sess" "$ADDR1") && p2=$(path_dir "$sess" "$ADDR2") || fail "client paths missing"
	expect_write OK "$p1/stats/reset_all" 1
	expect_write OK "$p2/stats/reset_all" 1
	fio_run "verify-$2" --filename="$DEV" "${FIO_VERIFY[@]}" --size=4M
	cat "$p1/stats/rdma" "$p2/stats/rdma"
	R1=$(rdma_col "$p1" 1) W1=$(rdma_col "$p1" 3) I1=$(rdma_col "$p1" 5)
	R2=$(rdma_col "$p2" 1) W2=$(rdma_col "$p2" 3) I2=$(rdma_col "$p2" 5)
	F=$(( $(rdma_col "$p1" 6) + $(rdma_col "$p2" 6) ))
	# Every byte went over one of the paths (bytes include the RNBD header).
	local size=$((4 << 20))
	[ $(( $(rdma_col "$p1" 4) + $(rdma_col "$p2" 4) )) -ge $size ] || fail "paths wrote less than 4 MiB"
	[ $(( $(rdma_col "$p1" 2) + $(rdma_col "$p2" 2) )) -ge $size ] || fail "paths read less than 4 MiB"
	[[ "$(cat $s/mpath_policy)" = "$2 ("* ]] || fail "mpath_policy reads '$(cat $s/mpath_policy)' after IO"
}

# Round-robin: each CPU takes the paths in turn, so both carry about half of the requests.
register mpath_verify_round_robin 600 "$ALL_MODULES"
case_mpath_verify_round_robin() {
	mpath_verify s_rr round-robin
	local a=$((R1 + W1)) b=$((R2 + W2)) d
	[ $W1 -gt 0 ] && [ $W2 -gt 0 ] && [ $R1 -gt 0 ] && [ $R2 -gt 0 ] || fail "a path carried no reads or no writes"
	d=$((a > b ? a - b : b - a))
	[ $d -le $(( (a + b) / 10 + 8 )) ] || fail "round-robin split $a : $b requests"
	unmap "$DEV"
	expect_clean
}

# Min-inflight: a request goes to the path with fewer requests in flight, so with 16 in
# flight both paths carry IO; the inflight counters return to 0 when IO stops. (Not after a
# failover: C then leaves the failed path's counter at the number of requests moved.)
register mpath_verify_min_inflight 600 "$ALL_MODULES"
case_mpath_verify_min_inflight() {
	mpath_verify s_mi min-inflight
	[ $W1 -gt 0 ] && [ $W2 -gt 0 ] || fail "a path carried no writes ($W1, $W2)"
	[ $F -gt 0 ] || { [ $I1 = 0 ] && [ $I2 = 0 ]; } || fail "inflight after IO: $I1, $I2"
	unmap "$DEV"
	expect_clean
}

# Min-latency: a request goes to the path with the lowest heartbeat round trip, which may be
# the same path all the time; only the data and the latency measurement are checked.
register mpath_verify_min_latency 600 "$ALL_MODULES"
case_mpath_verify_min_latency() {
	mpath_verify s_ml min-latency
	local p
	for p in /sys/class/rtrs-client/s_ml/paths/*; do
		wait_until 15 eval '[ "$(cut -d" " -f1 $p/cur_latency)" -gt 0 ]' \
			|| fail "${p##*/} measured no heartbeat latency: $(cat $p/cur_latency)"
	done
	unmap "$DEV"
	expect_clean
}

# unload_server_modules: rnbd_server, then rtrs_server (whichever implementation is loaded).
unload_server_modules() {
	local m
	for m in rnbd_server rtrs_server; do
		wait_until 20 test "$(cat /sys/module/$m/refcnt)" = 0 \
			|| fail "rmmod $m: refcount stays $(cat /sys/module/$m/refcnt)"
		rmmod $m || fail "rmmod $m"
	done
}
writer_ok() { local s; { read -r s _ < "$CASE_DIR/status"; } 2>/dev/null && echo "${s:-0}" || echo 0; }

# The server modules are unloaded and loaded again while a writer journals every
# acknowledged 4 KiB O_DIRECT write; the client reconnects (by itself when it is ours:
# await_reconnect), IO goes on, and every acknowledged write reads back.
register server_restart 600 "$ALL_MODULES"
case_server_restart() {
	local s=/sys/class/rtrs-client/s_rs seed=$RANDOM$RANDOM w=$REPO/tools/testing/cases/ack-writer.py
	map_two s_rs
	local n=${DEV#/dev/}
	rm -f "$CASE_DIR/stop" "$CASE_DIR/status"
	python3 "$w" write "$DEV" "$CASE_DIR/journal" "$CASE_DIR/stop" "$CASE_DIR/status" "$seed" &
	local wpid=$!
	# Stop the writer when the case ends early (it must not outlive the mapping).
	trap 'touch "$CASE_DIR/stop"; wait $wpid' EXIT
	wait_until 120 eval '[ "$(writer_ok)" -ge 20 ]' || fail "writer did not get going: $(cat "$CASE_DIR/status")"
	unload_server_modules
	wait_until 20 dev_state_is $n closed \
		|| fail "$n state is '$(cat /sys/block/$n/rnbd/state)' with the server gone"
	local p
	for p in $s/paths/*; do path_connected "$p" && fail "${p##*/} connected with the server gone"; done
	sleep 2
	load_modules
	# Ours reconnects after reconnect_delay_sec (RNBD: 30 s) plus up to 8 s, as C.
	for p in $s/paths/*; do
		await_reconnect "$p" || fail "${p##*/} did not reconnect within 90 s"
	done
	wait_until 20 dev_state_is $n open \
		|| fail "$n not open after the reconnect: '$(cat /sys/block/$n/rnbd/state)'"
	local ok0
	ok0=$(writer_ok)
	wait_until 120 eval '[ "$(writer_ok)" -ge $((ok0 + 20)) ]' || fail "IO did not go on after the reconnect"
	touch "$CASE_DIR/stop"
	wait $wpid || fail "writer failed"
	log "writer ok/err: $(cat "$CASE_DIR/status")"
	python3 "$w" verify "$DEV" "$CASE_DIR/journal" "$seed" || fail "acknowledged writes lost: see log"
	unmap "$DEV"
	expect_clean
}
