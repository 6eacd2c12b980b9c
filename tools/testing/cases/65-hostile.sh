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
		rw_desc_len_big rw_bad_rkey rnbd_open_dotdot rnbd_io_past_end)
	[ "$(impl_of rtrs_server)" = c ] || a+=(rw_desc_len_gt_data half_open)
	[ "$(impl_of rnbd_server)" = c ] || a+=(rnbd_write_ro)
	hostile_splat_ok && a+=(info_no_nul imm_hb_ack_cid1 info_empty)
	hostile_group "${a[@]}"
}
