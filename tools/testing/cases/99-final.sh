# SPDX-License-Identifier: GPL-2.0-or-later
# Always the last case of a run: every module of the run goes. The boot's last run
# (LAST_RUN=1; make vmtest has one run) also takes soft-RDMA, brd and null_blk away and has
# kmemleak scan: nothing may be unreferenced. A kmemleak scan costs about 25 s under TCG
# with KASAN, so the runs before it in one boot (make check) leave their leaks to it; the
# allocation backtraces in its report name the module. In the two-guest topology the
# server guest unloads and checks its own modules first (peer.sh), and its verdict counts.

# peer_finish: tells the server guest to end, and fails with its verdict unless PASS.
peer_finish() {
	touch "$PEER_DIR/stop"
	wait_until 120 test -e "$PEER_DIR/result" || fail "the server guest gave no verdict in 120 s"
	grep -qx PASS "$PEER_DIR/result" || fail "server guest: $(cat "$PEER_DIR/result")"
}

register final_rmmod 300 ""
case_final_rmmod() {
	[ "${PAIR_ROLE:-}" != client ] || peer_finish
	unload_modules
	[ "${LAST_RUN:-1}" = 1 ] || return 0
	local m
	rdma link show | awk '{ print $2 }' | while read -r l; do rdma link del "${l%/*}"; done
	for m in brd null_blk rdma_rxe siw rdma_cm; do
		[ -d /sys/module/$m ] && { rmmod $m || fail "rmmod $m"; }
	done
	local k=/sys/kernel/debug/kmemleak
	[ -w $k ] || fail "kmemleak is not available"
	echo scan > $k; sleep 6; echo scan > $k
	cat $k > "$CASE_DIR/kmemleak"
	[ ! -s "$CASE_DIR/kmemleak" ] || fail "kmemleak: $(grep -c unreferenced "$CASE_DIR/kmemleak") objects, see kmemleak"
}
