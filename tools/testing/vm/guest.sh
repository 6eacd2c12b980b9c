#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Guest side of the VM suite: soft-RDMA on the guest NIC, then for each run (a results
# folder with its config.sh: one module set and its cases) the module set and each case of
# SUITE (tools/testing/cases, or tools/testing/bench for make bench) in its own shell with
# a time limit. After every case dmesg is checked and kept. One boot serves several runs
# (make check): each run ends with final_rmmod, which unloads its modules.
# Usage: guest.sh BOOT [RUN...]; BOOT gets the boot's logs, RUN defaults to BOOT.
# Results go to RUN/cases/<case>/{result,seconds,log,dmesg,fio-*.log}.
set -uo pipefail
BOOT=$1; shift
RUNS=("$@")
[ ${#RUNS[@]} -gt 0 ] || RUNS=("$BOOT")
export RESULTS=${RUNS[0]}
. "$RESULTS/config.sh"
. "$REPO/tools/testing/vm/lib.sh"
for f in "$REPO"/tools/testing/$SUITE/*.sh; do . "$f"; done

exec > "$BOOT/guest.log" 2>&1
set -x
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
dmesg > "$BOOT/boot.dmesg"
# The boot's verdict counts in the first run.
if grep -Eq "$BAD_DMESG" "$BOOT/boot.dmesg"; then
	echo "FAIL boot dmesg has: $(grep -Em1 "$BAD_DMESG" "$BOOT/boot.dmesg")" > "$RESULTS/boot.result"
else
	echo PASS > "$RESULTS/boot.result"
fi
dmesg -C
[ -w /sys/kernel/debug/kmemleak ] && echo clear > /sys/kernel/debug/kmemleak

boot_fail() { for r in "${RUNS[@]}"; do echo "setup: $*" > "$r/setup.failed"; done; exit 1; }
# Every soft-RDMA kind a run asks for.
kinds=$(for r in "${RUNS[@]}"; do (. "$r/config.sh"; echo "$SOFT_RDMA"); done | sort -u)
start_soft_rdma $kinds || boot_fail "soft-RDMA ($kinds)"
modprobe brd rd_nr=2 rd_size=65536 || boot_fail "modprobe brd"
modprobe null_blk nr_devices=1 queue_mode=2 irqmode=0 memory_backed=1 gb=1 || boot_fail "modprobe null_blk"

# run_one RUN LAST: the module set of RUN and its cases; LAST=1 for the boot's last run,
# whose final_rmmod also takes soft-RDMA, brd and null_blk away.
run_one() {
	export RESULTS=$1 LAST_RUN=$2
	. "$RESULTS/config.sh"
	# The cases again, under this run's settings: some register only for some module sets
	# (the self-tests only with all modules in Rust); lib.sh starts the lists afresh.
	. "$REPO/tools/testing/vm/lib.sh"
	for f in "$REPO"/tools/testing/$SUITE/*.sh; do . "$f"; done
	use_soft_rdma "$SOFT_RDMA" || { echo "setup: soft-RDMA $SOFT_RDMA" > "$RESULTS/setup.failed"; exit 1; }
	setup_fail() { echo "setup: $*" > "$RESULTS/setup.failed"; exit 1; }
	# The run before ended by unloading its modules: a left one would be the wrong twin.
	local m
	for m in rnbd_client rnbd_server rtrs_client rtrs_server rtrs_core; do
		[ ! -d /sys/module/$m ] || setup_fail "$m is still loaded from the run before"
	done
	# A C RNBD module cannot load over a Rust RTRS module that does not export the rtrs.h
	# API yet: then the set stays incomplete and the cases that need it are expected failures.
	if ! (load_modules); then
		[ -n "$(pending_tag $ALL_MODULES)" ] || setup_fail "loading the module set"
		echo "module set incomplete because of a pending Rust module" > "$RESULTS/setup.incomplete"
	fi

	# The cases to run, in registration order, final_rmmod last: those CASES names, or all
	# of them when it names none; a name with a leading '-' is left out.
	local want=() skip=() order=() c
	for c in ${CASES:-}; do
		case "$c" in -*) skip+=("${c#-}") ;; *) want+=("$c") ;; esac
	done
	for c in "${CASE_ORDER[@]}"; do
		if [ "$c" != final_rmmod ]; then
			[ ${#want[@]} -eq 0 ] || [[ " ${want[*]} " = *" $c "* ]] || continue
			[[ " ${skip[*]} " != *" $c "* ]] || continue
		fi
		order+=("$c")
	done
	printf '%s\n' "${order[@]}" > "$RESULTS/order"

	for c in "${order[@]}"; do
		CASE_DIR=$RESULTS/cases/$c
		mkdir -p "$CASE_DIR"
		dmesg -c >> "$RESULTS/between.dmesg"
		echo "=== $c" > /dev/kmsg
		start=$(date +%s)
		( cd "$CASE_DIR" && export CASE_DIR && timeout -k 10 "${CASE_TIMEOUT[$c]}" bash -c \
			'. "$RESULTS/config.sh"; . "$REPO/tools/testing/vm/lib.sh";
			 for f in "$REPO"/tools/testing/$SUITE/*.sh; do . "$f"; done
			 set -o pipefail -x; case_'"$c" ) > "$CASE_DIR/log" 2>&1
		rc=$?
		echo $(( $(date +%s) - start )) > "$CASE_DIR/seconds"
		# Every case leaves the trees as it found them; restore them for the next case.
		left=
		if [ "$c" != final_rmmod ]; then
			left=$(leftovers | tr '\n' ' ')
			[ -n "$left" ] && { unmap_all; wait_until 20 no_leftovers; }
		fi
		dmesg -c > "$CASE_DIR/dmesg"
		bad=$(grep -Em1 "$BAD_DMESG" "$CASE_DIR/dmesg")
		if [ $rc = 0 ] && [ -z "$bad" ] && [ -z "$left" ]; then verdict=PASS detail=
		elif [ $rc = 124 ] || [ $rc = 137 ]; then verdict=FAIL detail="timed out after ${CASE_TIMEOUT[$c]} s"
		elif [ $rc != 0 ]; then verdict=FAIL detail=$(grep -m1 '^FAIL:' "$CASE_DIR/log" || tail -1 "$CASE_DIR/log")
		elif [ -n "$bad" ]; then verdict=FAIL detail="dmesg: $bad"
		else verdict=FAIL detail="left behind: $left"
		fi
		# Expected failures: a pending Rust module in use, or a documented C failure.
		tag=$(pending_tag ${CASE_USES[$c]})
		creason=${CASE_C_XFAIL[$c]:-}
		if [ -n "$creason" ] && [ -z "$tag" ]; then
			for m in ${CASE_C_XFAIL_BY[$c]}; do [ "$(impl_of "$m")" = c ] || creason=; done
		fi
		# A kernel splat is never an expected failure.
		if [ -n "$bad" ]; then tag= creason=; fi
		if [ -n "$tag" ]; then
			if [ $verdict = FAIL ]; then verdict=$tag detail="Rust module pending: $detail"
			else verdict=XPASS detail="passes although marked $tag: update tools/testing/rust-status"; fi
		elif [ -n "$creason" ]; then
			if [ $verdict = FAIL ]; then verdict="XFAIL(c)" detail="$creason"
			else verdict=XPASS detail="C passes although marked as failing: $creason"; fi
		fi
		echo "$verdict $detail" > "$CASE_DIR/result"
	done
}

for i in "${!RUNS[@]}"; do
	last=0; [ "$i" = $((${#RUNS[@]} - 1)) ] && last=1
	echo "=== run ${RUNS[$i]}" > /dev/kmsg
	(run_one "${RUNS[$i]}" $last)
done
sync
