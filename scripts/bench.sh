#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make bench: the benchmark cases (tools/testing/bench) in the perf kernel, one VM boot per
# configuration of BENCH_CONFIGS (names of VM_CONFIGS in scripts/lib.sh), then one table of
# IOPS and guest CPU per IO. The modules are built against the perf kernel in a copy of
# the tree under the cache, so the debug build of the work tree stays as it is.
#
# Environment: BENCH_CONFIGS (default "c-reference rtrs-server-rust"), BENCH_RUNTIME
# (seconds per fio job, default 30), SOFT_RDMA (rxe), CASES (subset of bench cases).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
. scripts/lib.sh

configs=${BENCH_CONFIGS:-c-reference rtrs-server-rust}
for c in $configs; do vm_config "$c" >/dev/null || die "bench: unknown configuration '$c'"; done

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
for c in $configs; do
	vm_config "$c"
	RTRS_CLIENT=$RC RTRS_SERVER=$RS RNBD_CLIENT=$NC RNBD_SERVER=$NS RTRS_SRV_PARAMS=$SP \
		BENCH_RUNTIME=${BENCH_RUNTIME:-30} FLAVOR=perf SUITE=bench RESULTS=$out/$c "$tree/tools/testing/vm/run.sh" \
		|| step "bench: $c: some cases failed (see $out/$c)"
done

python3 - "$out" $configs <<'PY'
import json, os, sys
out, configs = sys.argv[1], sys.argv[2:]
print(f"\n{'configuration':<20} {'case':<26} {'IOPS':>9} {'MiB/s':>8} {'lat us':>8} {'usr%':>6} {'sys%':>6}")
for c in configs:
    cases = os.path.join(out, c, "cases")
    for case in sorted(os.listdir(cases)) if os.path.isdir(cases) else []:
        d = os.path.join(cases, case)
        for f in sorted(x for x in os.listdir(d) if x.endswith(".json")):
            try:
                r = json.load(open(os.path.join(d, f)))
                j = r["jobs"][0]
                io = j["read"] if j["read"]["io_bytes"] else j["write"]
                print(f"{c:<20} {case:<26} {io['iops']:>9.0f} {io['bw'] / 1024:>8.1f} "
                      f"{io['clat_ns']['mean'] / 1000:>8.1f} {j['usr_cpu']:>6.1f} {j['sys_cpu']:>6.1f}")
            except (ValueError, KeyError, IndexError) as e:
                print(f"{c:<20} {case:<26} no result ({f}: {e})")
PY
