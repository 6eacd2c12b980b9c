# SPDX-License-Identifier: GPL-2.0-or-later
# The tracepoints of the C modules (rtrs-clt-trace.h, rtrs-srv-trace.h, rnbd-srv-trace.h of
# Linux 6.12): rtrs_client, rtrs_server and rnbd_server, Rust or C, have the same events with
# the same format files (fields, types, offsets, print formats: tracepoint-formats.txt holds
# the C modules'), so perf and bpftrace scripts work with either; and the events fire with the
# values of what happened. Uses path_dir and path_connected from 10-conformance.sh.
#
# C's RTRS events copy NAME_MAX bytes from the path's kobject name, past its end (KASAN:
# slab-out-of-bounds in trace_event_raw_event_send_io_resp_imm): with a C RTRS module its
# events' formats are checked, but they are not enabled. Ours copy the name only.

TRACEFS=/sys/kernel/tracing
TP_FORMATS=$REPO/tools/testing/cases/tracepoint-formats.txt
TP_EVENTS="rtrs_clt/rtrs_clt_reconnect_work rtrs_clt/rtrs_clt_close_conns
	rtrs_clt/rtrs_rdma_error_recovery rtrs_srv/send_io_resp_imm rnbd_srv/create_sess
	rnbd_srv/destroy_sess rnbd_srv/process_rdma rnbd_srv/process_msg_sess_info
	rnbd_srv/process_msg_open rnbd_srv/process_msg_close"

# tp_format SYSTEM/EVENT: its format file without the ID line (an id given at load time).
tp_format() { grep -v '^ID: ' "$TRACEFS/events/$1/format"; }
# tp_expected SYSTEM/EVENT: its section of tracepoint-formats.txt ("== SYSTEM/EVENT" lines).
tp_expected() { awk -v e="== $1" '$0 == e { on = 1; next } /^== / { on = 0 } on' "$TP_FORMATS"; }
# tp_fired: the events enabled, each SYSTEM/EVENT on a line (not C's RTRS ones, see above).
tp_fired() {
	local e
	for e in $TP_EVENTS; do
		case $e in
		rtrs_clt/*) [ "$RTRS_CLIENT" = rust ] || continue ;;
		rtrs_srv/*) [ "$RTRS_SERVER" = rust ] || continue ;;
		esac
		echo "$e"
	done
}
# tp_events 0|1: disables or enables the events of tp_fired.
tp_events() {
	local e
	for e in $(tp_fired); do echo "$1" > "$TRACEFS/events/$e/enable" || fail "enable=$1 $e"; done
}
tp_cleanup() {
	tp_events 0
	echo > $TRACEFS/trace
	unmap_all
	wait_until 20 no_leftovers
}
# tp_seen EVENT REGEX: a line of event EVENT in the recorded trace matches REGEX.
tp_seen() {
	grep -E " $1: $2" "$CASE_DIR/trace" >/dev/null \
		|| fail "no '$1: $2' in the trace: $(grep -m3 " $1: " "$CASE_DIR/trace" | tr -s ' ')"
}
# reconnect_ok PATHDIR: an admin reconnect of the client path succeeded.
reconnect_ok() { sysfs_write "$1/reconnect" 1; [ "$WRITE_RESULT" = OK ]; }
# dev_open_on_server SESS: the server has /dev/ram0 open for the session.
dev_open_on_server() { [ -d "$RNBD_SRV_CTL/devices/ram0/sessions/$1" ]; }
# some_io DEV: writes and reads back 32 KiB directly.
some_io() {
	dd if=/dev/urandom of="$1" bs=4k count=8 oflag=direct status=none || fail "write to $1"
	dd if="$1" of=/dev/null bs=4k count=8 iflag=direct status=none || fail "read from $1"
}

register tracepoints 180 "$ALL_MODULES"
case_tracepoints() {
	[ -d $TRACEFS/events ] || mount -t tracefs nodev $TRACEFS || fail "cannot mount tracefs"
	local e
	# Kept in the layout of tracepoint-formats.txt, for comparing by hand.
	for e in $TP_EVENTS; do
		[ -e "$TRACEFS/events/$e/format" ] || fail "no event $e"
		printf '== %s\n' "$e"
		tp_format "$e"
	done > "$CASE_DIR/formats.txt"
	# Differences are reported at the end, after the events were seen firing.
	local differ=
	for e in $TP_EVENTS; do
		[ "$(tp_format "$e")" = "$(tp_expected "$e")" ] && continue
		differ+=" $e"
		diff -u <(tp_expected "$e") <(tp_format "$e") >> "$CASE_DIR/formats.diff"
	done

	trap tp_cleanup EXIT
	echo > $TRACEFS/trace
	tp_events 1
	map s_tp /dev/ram0
	some_io "$DEV"
	local cp sp cname sname
	cp=$(path_dir s_tp "$ADDR1") || fail "no client path"
	wait_until 10 test -d /sys/class/rtrs-server/s_tp || fail "no server session"
	sp=$(ls -d /sys/class/rtrs-server/s_tp/paths/*@ip:$ADDR1) || fail "no server path"
	cname=$(basename "$cp") sname=$(basename "$sp")

	# The server closes the session's only path with the device open: the client's error
	# recovery, the RNBD session's end. An admin reconnect then runs the attempt at once
	# (retried until the recovery has queued it).
	expect_write OK "$sp/disconnect" 1
	wait_until 20 eval '! path_connected "$cp"' || fail "client did not see the server disconnect"
	wait_until 60 reconnect_ok "$cp" || fail "reconnect after the server disconnect: $WRITE_RESULT"
	wait_until 20 dev_open_on_server s_tp || fail "device not opened again after the reconnect"
	some_io "$DEV"

	# The client closes its path and reconnects it.
	expect_write OK "$cp/disconnect" 1
	expect_write OK "$cp/reconnect" 1
	wait_until 20 dev_open_on_server s_tp || fail "device not opened again after the reconnect"
	some_io "$DEV"
	unmap "$DEV"
	expect_clean
	tp_events 0
	cp $TRACEFS/trace "$CASE_DIR/trace"

	local clt="RTRS-CLT: sess='$cname' state=[A-Z_]+ attempts='[0-9]+' max-attempts='-1' fail='[0-9]+' success='[0-9]+'"
	if [ "$RTRS_CLIENT" = rust ]; then
		tp_seen rtrs_clt_reconnect_work "RTRS-CLT: sess='$cname' state=RECONNECTING "
		tp_seen rtrs_clt_reconnect_work "$clt"
		tp_seen rtrs_clt_close_conns "RTRS-CLT: sess='$cname' state=CONNECTED "
		tp_seen rtrs_rdma_error_recovery "$clt"
	fi
	if [ "$RTRS_SERVER" = rust ]; then
		tp_seen send_io_resp_imm "sess='$sname' state='CONNECTED' dir=WRITE err='0' inval='0' glob-inval='[01]' msgid='[0-9]+' wrcnt='-?[0-9]+' sig-interval='[1-9][0-9]*'"
	fi
	tp_seen create_sess "sessname: s_tp qdepth: [1-9][0-9]*$"
	tp_seen destroy_sess "sessname: s_tp qdepth: [1-9][0-9]*$"
	tp_seen process_rdma "I/O req: sess: s_tp, type: WRITE, ver: 2, devid: [0-9]+, sector: [0-9]+, bsize: 4096, flags: [A-Z_|]*WRITE[A-Z_|]*, ioprio: [0-9]+, datalen: [0-9]+, usrlen: [1-9][0-9]*$"
	tp_seen process_rdma "I/O req: sess: s_tp, type: READ, ver: 2, devid: [0-9]+, sector: [0-9]+, bsize: [1-9][0-9]*, flags: [A-Z_|]*, "
	tp_seen process_msg_sess_info "Session s_tp using proto-ver 2 \(clt-ver: 2, srv-ver: 2\)$"
	tp_seen process_msg_open "Open message received: session='s_tp' path='/dev/ram0' access_mode=RW$"
	tp_seen process_msg_close "Close message received: session='s_tp' device id='[0-9]+'$"
	[ -z "$differ" ] || fail "format differs from the C module's (formats.diff):$differ"
}
