# SPDX-License-Identifier: GPL-2.0-or-later
# Fault injection of the reliability plan; F1 (failslab_io) is at the end. A6, error-path
# sweeps: the n-th slab allocation of a sysfs write fails (fail-nth with failslab), for
# every n up to the number of allocations the write makes, or FAIL_NTH_POINTS of them. A
# failed write returns an error and leaves nothing behind on either side; one that
# succeeds despite the failure made a working object. KASAN, lockdep
# and kmemleak (final_rmmod) check the error paths. Only the writer's allocations can fail
# (fail-nth is per task): parsing, the session and path objects, rdma_cm ids, the disk;
# not those of the rdma_cm event handlers. FAIL_NTH_POINTS is 8 (make check, vmtest and
# matrix) or 200 (make reliability); 0 fails every allocation in turn (a map has about
# 20 000 fault-injection points, and a failing write costs about 4 s under TCG). Uses
# nr_entries and srv_paths_are from 20-paths.sh.

# failing_write N FILE TEXT: writes TEXT to FILE with the N-th fault-injection point of the
# write failing; prints the write's exit status and what is left of the count (0: the
# failure was injected; more: the write made fewer allocations than N).
failing_write() {
	bash -c 'echo '"$1"' > /proc/thread-self/fail-nth
		printf "%s" "$2" > "$1" 2> /dev/null; rc=$?
		read -r left < /proc/thread-self/fail-nth; echo 0 > /proc/thread-self/fail-nth
		echo "$rc $left"' _ "$2" "$3"
}

# fail_nth_sweep NAME FILE TEXT ON_OK ON_FAIL: the sweep; ON_OK runs after a write that
# succeeded (it undoes it), ON_FAIL after one that failed (it checks nothing is left).
# First a write without a failure counts the write's fault-injection points; then
# FAIL_NTH_POINTS of them, evenly spread from the first (0: every one), fail in turn.
fail_nth_sweep() {
	local name=$1 file=$2 text=$3 on_ok=$4 on_fail=$5 fs=/sys/kernel/debug/failslab
	local n res failed=0 total=1000000 count step
	[ -d $fs ] || fail "no $fs"
	echo 0 > $fs/verbose
	echo N > $fs/ignore-gfp-wait
	trap 'echo Y > '"$fs"'/ignore-gfp-wait' EXIT
	res=$(failing_write $total "$file" "$text")
	[ "${res%% *}" = 0 ] || fail "$name: the write fails without a fault injected"
	$on_ok || fail "$name: after the counting write"
	count=$(( total - ${res#* } ))
	step=1
	[ "${FAIL_NTH_POINTS:-0}" = 0 ] || step=$(( (count + FAIL_NTH_POINTS - 1) / FAIL_NTH_POINTS ))
	[ $step -ge 1 ] || step=1
	for ((n = 1; n <= count; n += step)); do
		res=$(failing_write $n "$file" "$text")
		if [ "${res%% *}" = 0 ]; then
			$on_ok || fail "$name: after fail-nth $n (write succeeded)"
		else
			failed=$((failed + 1))
			$on_fail || fail "$name: after fail-nth $n (write failed)"
		fi
	done
	echo Y > $fs/ignore-gfp-wait
	trap - EXIT
	log "$name: $count fault-injection points, every $step failed in turn: $failed writes failed cleanly"
}

# A failed map leaves no disk and no session on either side (the client may close a session
# it had connected: the server lets it go within 20 s).
fn_map_undo() {
	local n
	n=$(rnbd_of s_fn /dev/ram0) || return 1
	unmap "/dev/$n"
	expect_clean
}
fn_map_nothing_left() { wait_until 20 no_leftovers || { log "left: $(leftovers | tr '\n' ' ')"; return 1; }; }

register map_fail_nth 1500 "$ALL_MODULES"
case_map_fail_nth() {
	fail_nth_sweep map_device "$RNBD_CTL/map_device" \
		"sessname=s_fn path=ip:$ADDR1 device_path=/dev/ram0" fn_map_undo fn_map_nothing_left
	# And a map without fault injection works.
	map s_fn /dev/ram0
	dd if="$DEV" of=/dev/null bs=4k count=16 iflag=direct status=none || fail "read after the sweep"
	unmap "$DEV"
	expect_clean
}

# add_path to a mapped one-path session: a failed one leaves the session with its one path
# on both sides, working.
fn_add_undo() {
	local p
	p=$(path_dir s_fa "$ADDR2") || return 1
	wait_until 20 path_connected "$p" || { log "added path not connected: $(cat "$p/state")"; return 1; }
	expect_write OK "$p/remove_path" 1
	wait_until 20 srv_paths_are s_fa 1
}
fn_add_nothing_left() {
	[ "$(nr_entries /sys/class/rtrs-client/s_fa/paths)" = 1 ] || { log "client paths: $(ls /sys/class/rtrs-client/s_fa/paths)"; return 1; }
	wait_until 20 srv_paths_are s_fa 1 || { log "server paths: $(ls /sys/class/rtrs-server/s_fa/paths)"; return 1; }
}

register add_path_fail_nth 1500 "$ALL_MODULES"
case_add_path_fail_nth() {
	map s_fa /dev/ram0
	fail_nth_sweep add_path /sys/class/rtrs-client/s_fa/add_path "ip:$ADDR2" fn_add_undo fn_add_nothing_left
	dd if="$DEV" of=/dev/null bs=4k count=16 iflag=direct status=none || fail "read after the sweep"
	unmap "$DEV"
	expect_clean
}

# F1: allocation failures during IO. For 20 s, 5 % of the slab and 2 % of the page
# allocations fail in the high-priority kworkers, which carry the IO of both sides:
# kblockd's dispatch (the client's queue_rq when it runs there), and ib_comp_wq, where both
# sides' completions run, the server's bio submission among them. fio's own tasks are not
# marked: failures in them hit the program itself (a failed page allocation of a fault
# kills it with SIGBUS; failed 9p allocations break the loading of its libraries).
# Interrupts are never failed (task filter). IO errors are allowed (fio
# continue_on_error); the path must stay up or come back, the disk must take a verify pass
# afterwards, and nothing may leak (kmemleak at final_rmmod) or WARN (the dmesg check).
FI_TIMES=1000000
# fi_on DIR PERCENT: one fault-injection attribute set fails PERCENT % in marked tasks.
fi_on() {
	echo 0 > "$1/verbose"
	echo Y > "$1/task-filter"
	echo N > "$1/ignore-gfp-wait"
	echo 1 > "$1/interval"
	echo 0 > "$1/space"
	echo $FI_TIMES > "$1/times"
	echo "$2" > "$1/probability"
}
fi_off() {
	local d p
	for d in /sys/kernel/debug/failslab /sys/kernel/debug/fail_page_alloc; do
		echo 0 > "$d/probability"
		echo N > "$d/task-filter"
		echo Y > "$d/ignore-gfp-wait"
	done
	for p in /proc/[0-9]*/make-it-fail; do
		[ "$(cat "$p" 2>/dev/null)" != 1 ] || echo 0 > "$p" 2>/dev/null
	done
	return 0
}
# Marks the high-priority kworkers (new ones appear while the case runs).
fi_mark() {
	local p
	for p in $(pgrep '^kworker/.*H'); do
		echo 1 > "/proc/$p/make-it-fail" 2>/dev/null
	done
	return 0
}
register failslab_io 400 "$ALL_MODULES"
case_failslab_io() {
	local fs=/sys/kernel/debug/failslab fp=/sys/kernel/debug/fail_page_alloc n end rc=0
	local slab page errs p
	[ -d $fs ] && [ -d $fp ] || fail "no $fs or $fp"
	map s_fi /dev/ram0
	n=${DEV#/dev/}
	fio_load fi "$DEV" 35 --continue_on_error=all
	trap 'fi_off; kill $FIO_PID 2>/dev/null && wait $FIO_PID' EXIT
	fi_on $fs 5
	fi_on $fp 2
	end=$((SECONDS + 20))
	while [ $SECONDS -lt $end ]; do
		fi_mark
		sleep 1
	done
	fi_off
	slab=$((FI_TIMES - $(cat $fs/times))) page=$((FI_TIMES - $(cat $fp/times)))
	wait $FIO_PID || rc=$?
	trap - EXIT
	errs=$(grep -o 'err=[ 0-9]*' "$CASE_DIR/fio-fi.log" | head -1)
	log "failed in 20 s: $slab slab and $page page allocations; fio exit $rc, $errs"
	[ $((slab + page)) -gt 0 ] || fail "no allocation failed: the fault injection did not reach the IO"
	wait_until 60 dev_state_is "$n" open || fail "$n is '$(cat /sys/block/$n/rnbd/state)' 60 s after the failures"
	for p in /sys/class/rtrs-client/s_fi/paths/*; do
		wait_until 60 path_connected "$p" || fail "${p##*/} is not connected 60 s after the failures"
	done
	fio_run verify --filename="$DEV" "${FIO_VERIFY[@]}" --size=4M
	unmap "$DEV"
	expect_clean
}
