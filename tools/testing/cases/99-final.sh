# SPDX-License-Identifier: GPL-2.0-or-later
# Always the last case of a run: every module of the run goes, and kmemleak finds nothing.
# The boot's last run (LAST_RUN=1) also takes soft-RDMA, brd and null_blk away.

register final_rmmod 300 ""
case_final_rmmod() {
	unload_modules
	local m
	if [ "${LAST_RUN:-1}" = 1 ]; then
		rdma link show | awk '{ print $2 }' | while read -r l; do rdma link del "${l%/*}"; done
		for m in brd null_blk rdma_rxe siw rdma_cm; do
			[ -d /sys/module/$m ] && { rmmod $m || fail "rmmod $m"; }
		done
	fi
	local k=/sys/kernel/debug/kmemleak
	[ -w $k ] || fail "kmemleak is not available"
	echo scan > $k; sleep 6; echo scan > $k
	cat $k > "$CASE_DIR/kmemleak"
	# Reported once: the next run of the boot starts with an empty list.
	echo clear > $k
	[ ! -s "$CASE_DIR/kmemleak" ] || fail "kmemleak: $(grep -c unreferenced "$CASE_DIR/kmemleak") objects, see kmemleak"
}
