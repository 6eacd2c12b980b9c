# SPDX-License-Identifier: GPL-2.0-or-later
# Cases of the two-guest topology (vm/pair.sh; reliability plan TOPO-3, C6 and C7): the
# client guest runs them, the server modules run in the server guest and are reached
# through peer. Path 1 goes over net A (NIC_A, to ADDR1), path 2 over net B (NIC_B, to
# ADDR2); each frame crosses a QEMU network, so a link taken down or a netem qdisc on the
# client's NIC acts on the RDMA traffic of that path only.

# The server guest's rtrs-server sessions, one per line.
srv_sessions() { peer 'ls /sys/class/rtrs-server'; }
peer_clean() { [ -z "$(srv_sessions)" ]; }
# The server guest lets the sessions of the client go (20 s at most).
expect_peer_clean() {
	wait_until 20 peer_clean || fail "the server guest keeps sessions: $(srv_sessions | tr '\n' ' ')"
}
# net_a_state: what net A looks like from the client, for the log (after a disruption).
net_a_state() {
	ping -c 3 -W 2 "$ADDR1"
	ip neigh show dev "$NIC_A"
	ip route show dev "$NIC_A"
	rdma link show
	return 0
}
# writes_go_on: writes complete on DEV within 10 s (for the path that is still up).
writes_go_on() {
	local st=/sys/block/${DEV#/dev/}/stat w0
	w0=$(awk '{ print $5 }' $st)
	wait_until 10 eval '[ "$(awk "{ print \$5 }" '"$st"')" -gt '"$w0"' ]'
}

# A two-path mapping of the server guest's ram0: fio verify, and what the client wrote is
# on the server's device.
register pair_map_verify 300 "$ALL_MODULES"
case_pair_map_verify() {
	map s_pv /dev/ram0 "path=ip:$ADDR1 path=ip:$ADDR2"
	[ "$(srv_sessions)" = s_pv ] || fail "the server guest has sessions '$(srv_sessions)', expected s_pv"
	fio_run verify --filename="$DEV" "${FIO_VERIFY[@]}" --size=4M
	local here there
	here=$(dd if="$DEV" bs=1M count=4 iflag=direct status=none | md5sum)
	there=$(peer 'dd if=/dev/ram0 bs=1M count=4 iflag=direct status=none | md5sum')
	[ "$here" = "$there" ] || fail "the client reads $here, the server's ram0 holds $there"
	unmap "$DEV"
	expect_clean
	expect_peer_clean
}

# C7: under fio verify, net A first loses 1 % of the client's frames and delays them by
# 50 ms (10 ms jitter, so some are reordered) for 30 s: RC retransmission absorbs it and
# path 1 stays up. Then it loses every frame: path 1 goes down, writes go on over path 2;
# without the qdisc path 1 reconnects; nothing fails.
register netem_loss 600 "$ALL_MODULES"
case_netem_loss() {
	map s_nl /dev/ram0 "path=ip:$ADDR1 path=ip:$ADDR2"
	local pa t0
	pa=$(path_dir s_nl "$ADDR1") || fail "no client path to $ADDR1"
	start_fio_verify 300
	trap 'tc qdisc del dev "$NIC_A" root 2>/dev/null; kill $FIO_PID 2>/dev/null && wait $FIO_PID' EXIT
	tc qdisc add dev "$NIC_A" root netem loss 1% delay 50ms 10ms || fail "tc netem on $NIC_A"
	sleep 30
	path_connected "$pa" || fail "path 1 went down under 1 % loss and 50 ms delay"
	tc qdisc change dev "$NIC_A" root netem loss 100% || fail "tc netem loss 100%"
	t0=$SECONDS
	wait_until 60 eval '! path_connected "$pa"' || fail "path 1 still connected after 60 s of 100 % loss"
	log "path 1 down $((SECONDS - t0)) s into 100 % loss"
	writes_go_on || fail "no write completed over path 2 while net A lost every frame"
	tc qdisc del dev "$NIC_A" root || fail "tc qdisc del"
	t0=$SECONDS
	net_a_state
	await_reconnect "$pa" || fail "path 1 does not reconnect within 90 s of the loss ending"
	log "path 1 connected $((SECONDS - t0)) s after the loss ended"
	sleep 3
	stop_fio_verify
	unmap "$DEV"
	expect_clean
	expect_peer_clean
}

# C6: net A goes down for 40 s under fio verify: path 1 goes down (heartbeat or QP error),
# writes go on over path 2; net A comes back and path 1 reconnects; nothing fails.
register link_down_failover 600 "$ALL_MODULES"
case_link_down_failover() {
	map s_ld /dev/ram0 "path=ip:$ADDR1 path=ip:$ADDR2"
	local pa t0
	pa=$(path_dir s_ld "$ADDR1") || fail "no client path to $ADDR1"
	start_fio_verify 300
	trap 'ip link set "$NIC_A" up; kill $FIO_PID 2>/dev/null && wait $FIO_PID' EXIT
	ip link set "$NIC_A" down || fail "ip link set $NIC_A down"
	t0=$SECONDS
	wait_until 60 eval '! path_connected "$pa"' || fail "path 1 still connected 60 s after net A went down"
	log "path 1 down $((SECONDS - t0)) s after net A went down"
	writes_go_on || fail "no write completed over path 2 while net A was down"
	sleep $((40 - (SECONDS - t0) > 0 ? 40 - (SECONDS - t0) : 0))
	ip link set "$NIC_A" up || fail "ip link set $NIC_A up"
	t0=$SECONDS
	net_a_state
	await_reconnect "$pa" || fail "path 1 does not reconnect within 90 s of net A coming back"
	log "path 1 connected $((SECONDS - t0)) s after net A came back"
	sleep 3
	stop_fio_verify
	unmap "$DEV"
	expect_clean
	expect_peer_clean
}
