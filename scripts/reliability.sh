#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make reliability: the cases of the reliability plan (RELIABILITY_CASES in scripts/lib.sh)
# at full length, in one boot of the debug kernel, against the C modules (c-reference),
# ours (rust) and ours with always_invalidate=N (rust-noinval; G4 in part):
# 200 points of each fail-nth sweep, MAP_CYCLES map/unmap cycles (default 100; the plan's
# E4 asks for 10 000, about 10 hours under TCG), 20 unmap/rmmod races. make check runs the
# short versions. Then the two-guest cases (tools/testing/pair: TOPO-3, C6, C7) of each
# configuration, in a boot of two guests each (vm/pair.sh; RELIABILITY_NO_PAIR=1 leaves them
# out). Writes results/reliability/<configuration>/, results/reliability/pair/ and
# results/reliability/table.md: case, plan ID, and the result of each configuration.
# RELIABILITY_CONFIGS and CASES (space-separated) narrow it down.
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
. scripts/lib.sh

# The plan's ID of each case (notes/reliability.md §5.3).
declare -A ID=(
	[map_bad_input]=A1 [self_delete_attr_reader]=A3 [map_fail_nth]=A6 [add_path_fail_nth]=A6
	[selftest_sysfs_failslab]=A6 [hostile_con_req]=B1 [hostile_half_open]=B2 [hostile_info_req]=B3 [hostile_imm]=B4
	[hostile_rw_desc]=B5 [hostile_read_overlong]=B5 [hostile_rnbd_msg]=B6
	[hostile_rnbd_write_ro]=B6 [hostile_info_no_nul]=B3 [hostile_imm_hb_cid1]=B4 [hostile_info_empty]=B3 [hostile_stale_rkey]=B8 [hostile_srv_rtrs]=B7 [hostile_srv_open_rsp]=B7 [two_paths_disconnect]=C1
	[remove_path_add_path]=C2 [mpath_policy_switch]=C2 [server_path_disconnect]=C3
	[rdma_link_del_io]=C5 [server_restart]=D1 [unmap_rmmod_race]=E1 [rxe_rmmod_io]=E3
	[map_unmap_cycles]=E4 [failslab_io]=F1 [pair_map_verify]=TOPO-3
	[link_down_failover]=C6 [netem_loss]=C7 [permit_exhaustion]=F2 [final_rmmod]=C-LEAK
)

configs=${RELIABILITY_CONFIGS:-c-reference rust rust-noinval}
export HOSTILE=full CASES=${CASES:-${RELIABILITY_CASES//,/ }} FAIL_NTH_POINTS=${FAIL_NTH_POINTS:-200} MAP_CYCLES=${MAP_CYCLES:-100}
make -s modules || die "reliability: the modules do not build"
if grep -q '^hostile:' Makefile; then make -s hostile || die "reliability: the hostile peer does not build"; fi

t0=$(date +%s)
passed=0 failed=0 fails=() summaries=()
boot=$repo/results/reliability
REPO=$repo FLAVOR=${FLAVOR:-debug}
vm_suite "$boot" "${VM_TIMEOUT:-21600}" "" $configs
# The two-guest cases (TOPO-3: link down, netem) of each configuration, each in a boot of
# its own two guests: results/reliability/pair/<configuration>/.
if [ -z "${RELIABILITY_NO_PAIR:-}" ]; then
	for name in $configs; do
		vm_config "$name" || die "reliability: unknown configuration '$name'"
		RTRS_CLIENT=$RC RTRS_SERVER=$RS RNBD_CLIENT=$NC RNBD_SERVER=$NS RTRS_SRV_PARAMS=$SP \
			RESULTS=$boot/pair/$name CASES= VM_TIMEOUT=3600 tools/testing/vm/pair.sh
		tally_run "$boot/pair/$name" "pair $name" $?
	done
fi

# The table: one row per case, one column per configuration.
{
	printf '| case | plan |'
	for c in $configs; do printf ' %s |' "$c"; done
	printf '\n| --- | --- |'
	for c in $configs; do printf ' --- |'; done
	echo
	for name in $(cat "$boot"/*/order "$boot"/pair/*/order 2>/dev/null | awk '!seen[$0]++'); do
		printf '| `%s` | %s |' "$name" "${ID[$name]:--}"
		for c in $configs; do
			r=-
			for d in "$boot/$c" "$boot/pair/$c"; do
				grep -qx "$name" "$d/order" 2>/dev/null || continue
				r=$(cut -c1-60 "$d/cases/$name/result" 2>/dev/null | sed 's/ *$//')
				r=${r:-no result}
				r="$r ($(cat "$d/cases/$name/seconds" 2>/dev/null || echo -) s)"
				break
			done
			printf ' %s |' "${r//|//}"
		done
		echo
	done
} > "$boot/table.md"
echo
cat "$boot/table.md"
print_summary reliability "$t0" reliability
