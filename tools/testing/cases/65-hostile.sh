# SPDX-License-Identifier: GPL-2.0-or-later
# A hostile client against the server (notes/reliability.md §5.3, table B: B1, B3-B6): the
# user-space RTRS/RNBD client tools/testing/hostile/rtrs-hostile (built on the host by
# 'make hostile') establishes sessions over rdma_cm like the kernel client, then sends one
# malformed message per attack and prints what the server did as one line
# ("hostile ATTACK: PASS|FAIL|SKIP: ..."); it exits non-zero when the server did not do
# what the table requires. One case per group of attacks. Around the attacks: a mapping of
# /dev/ram0 by the kernel client holds a pattern that must read back unchanged and take a
# short fio verify afterwards, the server keeps no session of the hostile client
# (hostile_*), and a new mapping still works. The attacks that open a device use
# /dev/ram1. Uses server_reload from 60-faults.sh.

HOSTILE_BIN=$REPO/tools/testing/hostile/rtrs-hostile
# HOSTILE=full (make reliability) registers a case per group of attacks, about 17 minutes
# in all; otherwise (make check, make vmtest) hostile_quick runs one or two of each group.
hostile_full() { [ "${HOSTILE:-}" = full ]; }

# Server sessions (RTRS and RNBD) of the hostile client, one per line.
hostile_left() {
	local p
	for p in /sys/class/rtrs-server/hostile* "$RNBD_SRV_CTL"/devices/*/sessions/hostile*; do
		[ -e "$p" ] && echo "$p"
	done
	return 0
}
hostile_gone() { [ -z "$(hostile_left)" ]; }

# rdma_ucm (with ib_uverbs, which rdma_rxe loads anyway) gives user space its rdma_cm and
# verbs; it goes at the end of the case again, as final_rmmod removes rdma_cm.
# HOSTILE_ON_EXIT runs after that.
hostile_setup() {
	[ -x "$HOSTILE_BIN" ] || fail "$HOSTILE_BIN is missing: run 'make hostile' on the host first"
	modprobe -a rdma_ucm ib_uverbs || fail "modprobe rdma_ucm ib_uverbs"
	wait_until 10 test -c /dev/infiniband/rdma_cm || fail "no /dev/infiniband/rdma_cm"
	trap 'hostile_teardown; eval "${HOSTILE_ON_EXIT:-}"' EXIT
}
hostile_teardown() {
	[ ! -d /sys/module/rdma_ucm ] || wait_until 10 rmmod rdma_ucm || log "rmmod rdma_ucm failed"
	return 0
}

# hostile_attacks ATTACK...: runs each attack against $ADDR1; the result lines go to the
# log and to hostile.txt. After each, the server must drop whatever the attack left within
# 30 s. Sets HOSTILE_BAD to the attacks that failed.
hostile_attacks() {
	local a out rc t0
	HOSTILE_BAD=()
	for a in "$@"; do
		t0=$(date +%s)
		out=$(timeout -k 5 120 "$HOSTILE_BIN" --attack "$a" --dev /dev/ram1 --name "hostile_$a" \
			"$ADDR1" 2>>"$CASE_DIR/hostile.stderr")
		rc=$?
		[ -n "$out" ] || out="hostile $a: FAIL: no verdict (exit $rc, see hostile.stderr)"
		out="$out [$(( $(date +%s) - t0 )) s]"
		log "$out"
		echo "$out" >> "$CASE_DIR/hostile.txt"
		[ $rc = 0 ] || HOSTILE_BAD+=("$a")
		if ! wait_until 30 hostile_gone; then
			log "after $a the server keeps: $(hostile_left | tr '\n' ' ')"
			HOSTILE_BAD+=("$a(server session left)")
		fi
	done
}

# A mapping of /dev/ram0 with 4 MiB of random data (before the attacks): sets HDEV.
hostile_victim_map() {
	map s_hv /dev/ram0
	HDEV=$DEV
	head -c 4M /dev/urandom > "$CASE_DIR/pattern" || fail "making the pattern"
	dd if="$CASE_DIR/pattern" of="$HDEV" bs=1M oflag=direct status=none || fail "writing the pattern to $HDEV"
}
# After the attacks: the pattern reads back, fio verify runs on the mapping, a second
# mapping works, everything is unmapped and nothing is left.
hostile_victim_check() {
	local ok=1
	cmp -n 4194304 "$CASE_DIR/pattern" "$HDEV" || ok=0
	[ $ok = 1 ] || fail "the pattern on $HDEV changed or cannot be read after the attacks"
	fio_run after --filename="$HDEV" "${FIO_VERIFY[@]}" --size=4M --offset=4M
	map s_hn /dev/nullb0
	dd if="$DEV" of=/dev/null bs=64k count=16 iflag=direct status=none || fail "read from a new mapping $DEV"
	unmap "$DEV"
	unmap "$HDEV"
	expect_clean
}

# hostile_group ATTACK...: the attacks around the victim mapping; fails naming the attacks
# that failed.
hostile_group() {
	hostile_setup
	hostile_victim_map
	hostile_attacks "$@"
	local bad=("${HOSTILE_BAD[@]}")
	hostile_victim_check
	[ ${#bad[@]} = 0 ] || fail "attacks failed: ${bad[*]} (see hostile.txt)"
}

# B1: malformed CON_REQ private data; each connect must be rejected with the errno of the
# C server (ECONNRESET; ENXIO for first_conn 0 and an unknown session).
hostile_full && register hostile_con_req 900 "$ALL_MODULES"
case_hostile_con_req() {
	hostile_group con_short con_tiny con_bad_magic con_bad_version con_old_version \
		con_cid_num_0 con_cid_num_4097 con_cid_ge_num con_no_first_conn con_dup_cid \
		con_cid_num_change con_after_connected
}

# B2: half-open paths (every connection up, no INFO_REQ) are closed within 45 s, and the
# client's reconnect with the same UUIDs then connects.
hostile_full && register hostile_half_open 300 "$ALL_MODULES" \
	"C 6.12 keeps a path that never sends INFO_REQ connecting forever and refuses the reconnect (zombie paths, fixed after 6.12)" rtrs_server
case_hostile_half_open() { hostile_group half_open; }

# B3: hostile INFO_REQ; the path must close without an INFO_RSP (a second INFO_REQ on a
# connected path may also be ignored), a second session of the same name must not disturb
# the first. A pathname without NUL is hostile_info_no_nul, an empty one
# hostile_info_empty.
hostile_full && register hostile_info_req 900 "$ALL_MODULES"
case_hostile_info_req() {
	hostile_group info_early info_slash info_dot info_dotdot info_short info_bad_type \
		info_twice info_dup_name
}

# B4: IO immediate data: an offset at or straddling the chunk end closes the path (or gets
# an error), unknown IMM types are ignored (or close the path) and the session goes on.
# msg_id >= queue_depth needs a queue depth that is no power of two: the server modules
# are loaded again with sess_queue_depth=500 for it. Heartbeats on an IO connection are
# hostile_imm_hb_cid1.
hostile_full && register hostile_imm 900 "$ALL_MODULES"
case_hostile_imm() {
	hostile_group imm_off_chunk imm_off_chunk_m1 imm_unknown_type imm_type_15 imm_io_rsp
	HOSTILE_ON_EXIT='unmap_all; wait_until 20 no_leftovers; server_reload'
	server_reload sess_queue_depth=500
	hostile_group imm_msg_id_qd imm_msg_id_max
}

# B5: RTRS READ/WRITE header fuzz: bad descriptors close the path, requests the C server
# drops (usr_len > off, sg_cnt > 1) are dropped, answered with an error or close the path.
hostile_full && register hostile_rw_desc 900 "$ALL_MODULES"
case_hostile_rw_desc() {
	hostile_group rw_usr_len_gt_off rw_write_usr_len_gt_off rw_sg_cnt_0 rw_sg_cnt_2 \
		rw_sg_cnt_ffff rw_desc_len_0 rw_desc_len_big rw_bad_rkey rw_bad_addr rw_unknown_type
}

# B5, no disclosure: a READ whose descriptor is longer than its data area gets no more
# than the data (C writes desc[0].len bytes of the chunk, rtrs-srv.c rdma_write_sg).
hostile_full && register hostile_read_overlong 300 "$ALL_MODULES" \
	"C writes desc[0].len bytes from the chunk, more than the request's data (rdma_write_sg)" rtrs_server
case_hostile_read_overlong() { hostile_group rw_desc_len_gt_data; }

# B6: RNBD message fuzz on a valid session: error responses, OPEN idempotent.
hostile_full && register hostile_rnbd_msg 900 "$ALL_MODULES"
case_hostile_rnbd_msg() {
	hostile_group rnbd_unknown_type rnbd_short_usr rnbd_short_io rnbd_open_dotdot \
		rnbd_open_too_long rnbd_open_no_nul rnbd_open_bad_mode rnbd_open_twice \
		rnbd_close_unknown rnbd_io_unknown_dev rnbd_io_past_end rnbd_io_bi_size
}

# B6, C-DATA: a WRITE to a device the session opened read-only is refused.
hostile_full && register hostile_rnbd_write_ro 300 "$ALL_MODULES" \
	"C submits writes to a device opened read-only (wire protocol §17 item 15)" rnbd_server
case_hostile_rnbd_write_ro() { hostile_group rnbd_write_ro; }

# B8: after the response that gives a chunk a new rkey (always_invalidate=Y), an RDMA
# WRITE into the chunk with the old rkey is refused by the HCA (remote access error).
# With always_invalidate=N the attack reports SKIP (the accepted risk of that mode).
hostile_full && register hostile_stale_rkey 300 "$ALL_MODULES"
case_hostile_stale_rkey() { hostile_group stale_rkey; }

# The attacks that make the C server print a kernel splat, last: a KASAN report hides
# every later one of the boot (only the first is printed), so they are left out when
# rtrs_server is C, unless the run's config.sh sets HOSTILE_C_SPLATS=1.
hostile_splat_ok() { [ "$(impl_of rtrs_server)" = rust ] || [ "${HOSTILE_C_SPLATS:-}" = 1 ]; }
hostile_splat_full() { hostile_full && hostile_splat_ok; }

# B3: pathname and reserved bytes without NUL: the path closes, nothing is read past the
# 272 bytes of the INFO_REQ (C: strchr runs past its buffer).
if hostile_splat_full; then
	register hostile_info_no_nul 300 "$ALL_MODULES"
fi
case_hostile_info_no_nul() { hostile_group info_no_nul; }

# B4: HB_ACK and HB_MSG on cid 1 are ignored (or close the path); C: WARN_ON(cid).
if hostile_splat_full; then
	register hostile_imm_hb_cid1 300 "$ALL_MODULES"
fi
case_hostile_imm_hb_cid1() { hostile_group imm_hb_ack_cid1 imm_hb_msg_cid1; }

# B3: an empty pathname: the path closes (C: device_add of an empty name WARNs in
# kobject_add_internal, and its error path puts the session's device, whose release frees
# the session that the path and the server context still hold).
if hostile_splat_full; then
	register hostile_info_empty 300 "$ALL_MODULES"
fi
case_hostile_info_empty() { hostile_group info_empty; }

# The short version (make check): two attacks of each group, around one victim mapping;
# the ones C fails (disclosure, writes to a read-only open) and the ones that make it
# splat only against ours.
hostile_full || register hostile_quick 600 "$ALL_MODULES"
case_hostile_quick() {
	local a=(con_bad_magic con_dup_cid info_slash info_twice imm_off_chunk imm_unknown_type
		rw_desc_len_big rw_bad_rkey rnbd_open_dotdot rnbd_io_past_end stale_rkey)
	[ "$(impl_of rtrs_server)" = c ] || a+=(rw_desc_len_gt_data half_open)
	[ "$(impl_of rnbd_server)" = c ] || a+=(rnbd_write_ro)
	hostile_splat_ok && a+=(info_no_nul imm_hb_ack_cid1 info_empty)
	hostile_group "${a[@]}"
}

## B7: a hostile server against the kernel client. rtrs-hostile --serve listens on
## HSRV_PORT (not the real server's 1234) and answers the client's RTRS and RNBD messages
## itself (an 8 MiB disk in memory), with exactly one malformed answer per attack; the
## kernel client maps sessname=hsrv_ATTACK from it. Each attack passes when the map_device
## write returns within 120 s (an error, or a mapping on which a read and the unmap end
## within 60 s), the client keeps nothing of the session afterwards, no kernel splat
## appears from the attack's mark in dmesg on, and the hostile server did inject its
## answer. Around the attacks, hostile_victim_map/check prove that the real server's
## mappings still work.

HSRV_PORT=1240

# Client-side remains of session $1 (its rtrs-client folder and its rnbd disks), one per line.
hsrv_left() {
	local d
	[ -e "/sys/class/rtrs-client/$1" ] && echo "/sys/class/rtrs-client/$1"
	for d in /sys/block/rnbd*/rnbd; do
		[ -d "$d" ] && [ "$(cat "$d/session" 2>/dev/null)" = "$1" ] && dirname "$d"
	done
	return 0
}
hsrv_gone() { [ -z "$(hsrv_left "$1")" ]; }
hsrv_ended() { ! kill -0 "$1" 2>/dev/null; }

# hsrv_bg SECONDS CMD...: runs CMD in the background and waits for it at most SECONDS; sets
# HSRV_RC to its exit status, or to 'hang' (the command is left running: a write to sysfs
# stuck in the kernel cannot be killed).
hsrv_bg() {
	local t=$1 pid; shift
	"$@" & pid=$!
	if wait_until "$t" hsrv_ended $pid; then wait $pid; HSRV_RC=$?; else HSRV_RC=hang; fi
}
hsrv_write() { printf '%s\n' "$2" > "$1"; }

# The attacks that make the C client print a kernel splat (WARN_ON of a msg_id or buf_id
# from the peer: rtrs-clt.c:497 in process_io_rsp, :547 and :560 in
# rtrs_clt_rkey_rsp_done) are left out when rtrs_client is C, as hostile_splat_ok does for
# the server, unless the run's config.sh sets HOSTILE_C_SPLATS=1.
HSRV_C_SPLATS="srv_io_rsp_id_qd srv_rkey_buf_id_qd srv_rkey_mismatch"

# hsrv_attack ATTACK: one attack; the result line goes to the log and to hostile.txt, a
# failure is added to HOSTILE_BAD.
hsrv_attack() {
	local a=$1 sess=hsrv_$1 pid t0 map n io= bad left srv line verdict=PASS why=()
	if [ "$(impl_of rtrs_client)" = c ] && [[ " $HSRV_C_SPLATS " = *" $a "* ]] &&
		[ "${HOSTILE_C_SPLATS:-}" != 1 ]; then
		line="hostile $a: SKIP: the C client WARNs on it (HOSTILE_C_SPLATS=1 runs it)"
		log "$line"
		echo "$line" >> "$CASE_DIR/hostile.txt"
		return 0
	fi
	echo "hostile-srv: $a" > /dev/kmsg
	"$HOSTILE_BIN" --serve --attack "$a" --port $HSRV_PORT --time 600 "$ADDR1" \
		> "$CASE_DIR/$a.out" 2> "$CASE_DIR/$a.stderr" &
	pid=$!
	wait_until 15 grep -q listening "$CASE_DIR/$a.stderr" || why+=("the hostile server did not start")
	t0=$(date +%s)
	hsrv_bg 120 bash -c "printf '%s\n' 'sessname=$sess dest_port=$HSRV_PORT path=ip:$ADDR1 device_path=/dev/hsrv0' > $RNBD_CTL/map_device 2> $CASE_DIR/$a.map-err"
	map=$HSRV_RC
	case $map in
	0) map=OK ;;
	hang) why+=("map_device did not return within 120 s") ;;
	*) map=$(errno_name "$(cat "$CASE_DIR/$a.map-err")") ;;
	esac
	map="map_device $map after $(( $(date +%s) - t0 )) s"
	if n=$(rnbd_of "$sess" /dev/hsrv0); then
		if [ "$a" = srv_none ]; then
			head -c 65536 /dev/urandom > "$CASE_DIR/$a.pattern"
			hsrv_bg 60 dd if="$CASE_DIR/$a.pattern" of=/dev/$n bs=64k oflag=direct status=none
			[ "$HSRV_RC" = 0 ] || why+=("write to /dev/$n: $HSRV_RC")
			cmp -n 65536 "$CASE_DIR/$a.pattern" /dev/$n 2>/dev/null || why+=("/dev/$n does not read back what was written")
		fi
		hsrv_bg 60 dd if=/dev/$n of=/dev/null bs=4k count=16 iflag=direct status=none
		case $HSRV_RC in 0) io="read OK" ;; hang) why+=("a read from /dev/$n hangs") ;; *) io="read fails" ;; esac
		hsrv_bg 60 hsrv_write "/sys/block/$n/rnbd/unmap_device" force
		[ "$HSRV_RC" != hang ] || why+=("unmap of /dev/$n hangs")
		map="$map, /dev/$n: $io, unmapped"
	fi
	kill -TERM $pid 2>/dev/null
	wait_until 10 hsrv_ended $pid || { kill -KILL $pid; why+=("the hostile server did not end"); }
	wait $pid
	srv=$?
	line=$(head -1 "$CASE_DIR/$a.out")
	[ -n "$line" ] || line="hostile $a: ERROR: no verdict (exit $srv)"
	[ $srv = 0 ] || why+=("the hostile server did not inject its answer")
	if ! wait_until 40 hsrv_gone "$sess"; then
		left=$(hsrv_left "$sess" | tr '\n' ' ')
		why+=("the client keeps $left")
		unmap_all
	fi
	case $a in
	srv_none) case $map in *"read OK"*) ;; *) why+=("the baseline did not map and read") ;; esac ;;
	srv_open_lbs_0|srv_open_lbs_npot) case $map in *OK*) why+=("mapped a device with that block size") ;; esac ;;
	esac
	bad=$(dmesg | sed -n "/hostile-srv: $a\$/,\$p" | grep -Em1 "$BAD_DMESG")
	[ -z "$bad" ] || why+=("dmesg: $bad")
	[ ${#why[@]} = 0 ] || verdict=FAIL
	line="hostile $a: $verdict: $map; server: ${line#hostile $a: }"
	[ ${#why[@]} = 0 ] || line="$line; FAILED: $(IFS=';'; echo "${why[*]}")"
	log "$line"
	echo "$line" >> "$CASE_DIR/hostile.txt"
	[ $verdict = PASS ] || HOSTILE_BAD+=("$a")
}

# hsrv_group ATTACK...: the attacks around the victim mapping of the real server.
hsrv_group() {
	local a
	hostile_setup
	hostile_victim_map
	HOSTILE_BAD=()
	for a in "$@"; do hsrv_attack "$a"; done
	local bad=("${HOSTILE_BAD[@]}")
	hostile_victim_check
	[ ${#bad[@]} = 0 ] || fail "attacks failed: ${bad[*]} (see hostile.txt)"
}

# B7, RTRS: malformed INFO_RSP, IO_RSP for an idle msg_id, twice, or out of range, RKEY_RSP
# without NEW_RKEY_F, and with NEW_RKEY_F for a buf_id not in flight, for buf_id = queue
# depth, or with a buf_id that is not the IMM's msg_id.
hostile_full && register hostile_srv_rtrs 1200 "$ALL_MODULES"
case_hostile_srv_rtrs() {
	hsrv_group srv_info_sg_cnt srv_info_desc_len_0 srv_io_rsp_idle srv_io_rsp_dup \
		srv_io_rsp_id_qd srv_rkey_no_flag srv_rkey_idle srv_rkey_buf_id_qd srv_rkey_mismatch
}

# B7, RNBD: malformed OPEN_RSP and SESS_INFO_RSP.
hostile_full && register hostile_srv_open_rsp 1200 "$ALL_MODULES"
case_hostile_srv_open_rsp() {
	hsrv_group srv_none srv_open_devid_max srv_open_nsectors_0 srv_open_nsectors_huge \
		srv_open_max_hw_0 srv_open_max_seg_0 srv_sess_info_ver_0 srv_open_lbs_npot \
		srv_open_lbs_0
}

# The short version of B7 (scheduled on its own): the baseline and three attacks.
hostile_full || register hostile_server_quick 600 "$ALL_MODULES"
case_hostile_server_quick() {
	hsrv_group srv_none srv_open_lbs_0 srv_info_sg_cnt srv_io_rsp_idle
}
