#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make bench: builds the perf kernel and the modules against it, boots one guest, and runs
# the benchmark matrix there (tools/testing/bench/lib.sh): Rust RNBD, C RNBD, NVMe-oF RDMA,
# iSER, SRP, the local backing and raw verbs, all over the same soft-RoCE device and
# null_blk backing, repetitions interleaved across systems. Then scripts/bench_report.py
# writes results/bench/{report.md,bench.csv,iops-vs-qd.png,lat-cdf.png}.
#
# Environment (defaults: the whole matrix, which takes many hours under TCG):
#   BENCH_SYSTEMS   systems, NAME[:VARIANT] (see tools/testing/bench/lib.sh)
#   BENCH_CELLS     fio cells (default: all 17)          BENCH_BACKINGS  nullb nullb-mem brd
#   BENCH_REPS      repetitions (5)                      BENCH_RUNTIME   seconds per run (20)
#   BENCH_RAMP      warm-up seconds before each run (3)  BENCH_TIMEOUT   for the VM (seconds)
#   BENCH_PROFILE=1 a perf profile of the guest per run (raw/.../CELL.REP.profile.txt)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
. scripts/lib.sh

inv_variants() { # inv_variants SYSTEM: the system with each always_invalidate, one and two paths
	local i p
	for i in Y N; do
		echo "$1:inv=$i"
		for p in round-robin min-inflight min-latency; do echo "$1:inv=$i,mp=$p"; done
	done
}
BENCH_SYSTEMS=${BENCH_SYSTEMS:-$(echo $(inv_variants rnbd-rust) $(inv_variants rnbd-c) nvmeof iser srp local raw-verbs)}
BENCH_CELLS=${BENCH_CELLS:-}
BENCH_BACKINGS=${BENCH_BACKINGS:-nullb nullb-mem brd}
BENCH_REPS=${BENCH_REPS:-5}
BENCH_RUNTIME=${BENCH_RUNTIME:-20}
BENCH_RAMP=${BENCH_RAMP:-3}

scripts/deps.sh
kdir=$(scripts/kernel.sh perf)
tree=$CACHE/bench-tree
step "bench: building the modules against the perf kernel in $tree"
rm -rf "$tree"
mkdir -p "$tree"
git ls-files -co --exclude-standard -z | tar -c --null -T - | tar -x -C "$tree"
make -s -C "$tree" modules KDIR="$kdir"

out=$repo/results/bench
rm -rf "$out"
mkdir -p "$out"
cat > "$out/config.sh" <<CFG
REPO='$tree'
BENCH_SYSTEMS='$BENCH_SYSTEMS'
BENCH_CELLS='$BENCH_CELLS'
BENCH_BACKINGS='$BENCH_BACKINGS'
BENCH_REPS=$BENCH_REPS
BENCH_RUNTIME=$BENCH_RUNTIME
BENCH_RAMP=$BENCH_RAMP
BENCH_PROFILE=${BENCH_PROFILE:-0}
BENCH_NULLB_MB=4096
BENCH_NULLB_MEM_MB=1024
CFG
n_sys=$(wc -w <<<"$BENCH_SYSTEMS") n_cells=$(wc -w <<<"${BENCH_CELLS:-x x x x x x x x x x x x x x x x x}")
est=$(( n_sys * n_cells * BENCH_REPS * (BENCH_RUNTIME + BENCH_RAMP + 2) * $(wc -w <<<"$BENCH_BACKINGS") ))
step "bench: $n_sys systems x $n_cells cells x $BENCH_REPS repetitions: about $((est / 3600)) h $((est % 3600 / 60)) min"
REPO=$repo
rc=0
boot_guest perf "$out" "${BENCH_TIMEOUT:-$((est * 2 + 1800))}" "$tree/tools/testing/bench/guest.sh" || rc=$?
step "bench: guest finished (exit $rc): $(cat "$out/bench.result" 2>/dev/null || echo 'no verdict')"
rc=0
scripts/bench-report.sh "$out" || rc=$?
grep -q PASS "$out/bench.result" 2>/dev/null && [ $rc = 0 ]
