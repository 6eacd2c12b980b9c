# SPDX-License-Identifier: GPL-2.0-or-later
# The benchmark harness, short (make check): the RNBD systems (Rust, and C over two paths)
# and raw verbs, a few seconds each, on the debug kernel, so that the harness keeps working
# (NVMe-oF, iSER, SRP and local run in make bench only: CI's time). It asserts nothing about
# speed: it passes when every system comes up, runs its cells without an IO error and goes
# down again. scripts/check.sh then runs the report generator on its output. All-Rust runs
# only (it swaps the run's module set for the benchmark's and back).

if selftest_wanted; then
	register bench_smoke 900 "$ALL_MODULES"
fi
case_bench_smoke() {
	. "$REPO/tools/testing/bench/lib.sh"
	unload_modules
	BENCH_SYSTEMS="rnbd-rust:inv=Y rnbd-c:inv=N,mp=round-robin raw-verbs"
	BENCH_CELLS=rr4k-qd32-j1 BENCH_BACKINGS=nullb BENCH_REPS=1 BENCH_RUNTIME=2 BENCH_RAMP=1
	RAW_CELLS=write-bw-4k
	BENCH_NULLB_MB=1024
	local rc=0
	bench_run "$CASE_DIR/bench" || rc=$?
	backing_down
	load_modules
	local bad
	bad=$(grep -c '"ok": false' "$CASE_DIR/bench/runs.jsonl")
	[ "$bad" = 0 ] || fail "$bad benchmark runs failed: $(grep -m1 '"ok": false' "$CASE_DIR/bench/runs.jsonl")"
	[ $rc = 0 ] || fail "a benchmark block failed (logs in $CASE_DIR/bench/logs)"
	local want=$(( 2 + 1 )) got
	got=$(grep -c '"ok": true' "$CASE_DIR/bench/runs.jsonl")
	[ "$got" = $want ] || fail "$got runs recorded, expected $want"
}
