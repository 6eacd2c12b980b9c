# SPDX-License-Identifier: GPL-2.0-or-later
# RTRS over iWARP. Every IO request and response of RTRS is an RDMA WRITE with immediate
# data (wire protocol §7); iWARP has none, and siw refuses IB_WR_RDMA_WRITE_WITH_IMM with
# EINVAL. So a map over siw must fail at once, say why, and leave nothing behind: ours
# refuse an iWARP device on either side with EOPNOTSUPP. The C client fails earlier, for
# another reason: it binds every connection of a path to the first one's source port,
# and the second TCP connect fails with EADDRNOTAVAIL.

register iwarp_refused 180 "$ALL_MODULES"
case_iwarp_refused() {
	siw_up || { siw_down; fail "siw set-up failed"; }
	local want=
	[ "$RTRS_CLIENT" = rust ] && want=EOPNOTSUPP
	sysfs_write "$RNBD_CTL/map_device" "sessname=s_iw device_path=/dev/ram0 path=ip:$SIW_ADDR"
	local got=$WRITE_RESULT
	# The sessions go before siw does (a device in use waits for its users).
	expect_clean
	siw_down || fail "siw tear-down failed"
	[ "$got" != OK ] || fail "a map over siw succeeded"
	[ -z "$want" ] || [ "$got" = "$want" ] || fail "a map over siw failed with $got, expected $want"
	if [ "$RTRS_CLIENT" = rust ]; then
		dmesg | grep -q "siw0 is iWARP: RTRS needs RDMA WRITE with immediate data" \
			|| fail "rtrs_client did not log why it refused siw0"
	elif [ "$RTRS_SERVER" = rust ]; then
		dmesg | grep -q "connection over iWARP refused" || fail "rtrs_server did not log the refusal"
	fi
}
