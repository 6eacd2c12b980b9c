# SPDX-License-Identifier: GPL-2.0-or-later
# Self-test of rust/sysfs through the rnbd_rs_selftest module: the control device, then the
# temporary class that `echo create > ctl/sysfs` builds (tools/testing/selftest/sysfs_test.rs).

selftest_wanted && register selftest_sysfs 300 ""

SELFTEST_TMP=/sys/class/rnbd-rs-selftest-tmp
SELFTEST_DEV0=$SELFTEST_TMP/dev0

# expect_mode MODE PATH: the file's permission bits, as stat prints them.
expect_mode() {
	local m
	m=$(stat -c %a "$2") || fail "no $2"
	[ "$m" = "$1" ] || fail "$2 has mode $m, expected $1"
}

# expect_read TEXT PATH
expect_read() {
	local v
	v=$(cat "$2") || fail "reading $2 failed"
	[ "$v" = "$1" ] || fail "$2 reads '$v', expected '$1'"
}

# reader_loop PATH: reads PATH in a loop in the background (untraced); sets READER.
reader_loop() {
	( set +x; while :; do cat "$1" > /dev/null 2>&1; done ) &
	READER=$!
}
reader_stop() { kill "$READER"; wait "$READER" 2>/dev/null; }

# The module, freshly loaded (a failed case may have left it).
selftest_fresh() {
	[ ! -d /sys/module/rnbd_rs_selftest ] || selftest_unload
	selftest_load
}

case_selftest_sysfs() {
	local out
	selftest_fresh
	[ -d "$SELFTEST_CTL" ] || fail "no $SELFTEST_CTL"
	[ "$(readlink -f "$SELFTEST_CTL")" = /sys/devices/virtual/rnbd-rs-selftest/ctl ] \
		|| fail "ctl is not a virtual device of its class"
	local a
	for a in rdma block sysfs; do expect_mode 200 "$SELFTEST_CTL/$a"; done
	cat "$SELFTEST_CTL/sysfs" 2> /dev/null && fail "write-only ctl/sysfs can be read"
	expect_write EINVAL "$SELFTEST_CTL/sysfs" bogus
	expect_write ENOENT "$SELFTEST_CTL/sysfs" remove

	# The temporary class: modes, reads, writes, the link, the uevents.
	# The monitor listens once a synthetic uevent of ctl reaches it.
	stdbuf -oL udevadm monitor --kernel > "$CASE_DIR/uevents" 2>&1 &
	local mon=$! i
	for i in $(seq 40); do
		echo change > "$SELFTEST_CTL/uevent"
		sleep 0.5
		grep -Eq "change +/devices/virtual/rnbd-rs-selftest/ctl " "$CASE_DIR/uevents" && break
	done
	[ "$i" != 40 ] || fail "udevadm monitor sees no uevents"
	selftest_run sysfs create
	expect_write EEXIST "$SELFTEST_CTL/sysfs" create
	expect_mode 644 "$SELFTEST_DEV0/value"
	expect_mode 444 "$SELFTEST_DEV0/info"
	expect_mode 200 "$SELFTEST_DEV0/delete"
	expect_mode 444 "$SELFTEST_DEV0/paths/p0/name"
	expect_mode 200 "$SELFTEST_DEV0/paths/p0/delete"
	[ "$(readlink -f "$SELFTEST_DEV0")" = /sys/devices/virtual/rnbd-rs-selftest-tmp/dev0 ] \
		|| fail "dev0 is not a virtual device of its class"
	expect_read 0 "$SELFTEST_DEV0/value"
	expect_write OK "$SELFTEST_DEV0/value" 42
	expect_read 42 "$SELFTEST_DEV0/value"
	expect_write OK "$SELFTEST_DEV0/value" " 4294967295 "
	expect_read 4294967295 "$SELFTEST_DEV0/value"
	local bad
	for bad in abc -1 4294967296 "" "1 2" 0x10; do
		expect_write EINVAL "$SELFTEST_DEV0/value" "$bad"
	done
	expect_read 4294967295 "$SELFTEST_DEV0/value"
	sleep 1
	kill $mon; wait $mon 2> /dev/null
	grep -Eq "add +/devices/virtual/rnbd-rs-selftest-tmp/dev0 " "$CASE_DIR/uevents" \
		|| fail "no add uevent for dev0 (see uevents)"
	[ "$(grep -Ec "change +/devices/virtual/rnbd-rs-selftest-tmp/dev0 " "$CASE_DIR/uevents")" = 2 ] \
		|| fail "not one change uevent per value write (see uevents)"
	expect_read "rnbd-rs sysfs self-test device" "$SELFTEST_DEV0/info"
	{ echo 1 > "$SELFTEST_DEV0/info"; } 2> /dev/null && fail "read-only info can be written"
	expect_read p0 "$SELFTEST_DEV0/paths/p0/name"
	expect_mode 400 "$SELFTEST_DEV0/overflow"
	out=$(cat "$SELFTEST_DEV0/overflow" 2>&1 > /dev/null) && fail "reading overflow succeeded"
	[[ "$out" = *"File too large"* ]] || fail "reading overflow: $out"
	[ -L "$SELFTEST_DEV0/peer" ] || fail "dev0/peer is not a symlink"
	[ "$(readlink "$SELFTEST_DEV0/peer")" = ../../rnbd-rs-selftest/ctl ] \
		|| fail "dev0/peer -> $(readlink "$SELFTEST_DEV0/peer")"
	[ -e "$SELFTEST_DEV0/peer/sysfs" ] || fail "dev0/peer does not lead to ctl"

	# p0/delete removes its own directory, while p0/name is read in a loop; a second
	# writer that opened the file before gets ENODEV.
	expect_write EINVAL "$SELFTEST_DEV0/paths/p0/delete" 0
	[ -d "$SELFTEST_DEV0/paths/p0" ] || fail "a refused delete removed p0"
	exec 3> "$SELFTEST_DEV0/paths/p0/delete"
	reader_loop "$SELFTEST_DEV0/paths/p0/name"
	sleep 0.5
	expect_write OK "$SELFTEST_DEV0/paths/p0/delete" 1
	reader_stop
	[ ! -e "$SELFTEST_DEV0/paths/p0" ] || fail "p0 stays after p0/delete"
	[ -d "$SELFTEST_DEV0/paths" ] || fail "paths went with p0"
	out=$( { echo 1 >&3; } 2>&1 ) && fail "write to the removed p0/delete succeeded"
	[ "$(errno_name "$out")" = ENODEV ] || fail "write to the removed p0/delete: $out"
	exec 3>&-

	# dev0/delete removes the whole device, while dev0/value is read in a loop.
	reader_loop "$SELFTEST_DEV0/value"
	sleep 0.5
	expect_write OK "$SELFTEST_DEV0/delete" 1
	reader_stop
	[ ! -e "$SELFTEST_DEV0" ] || fail "dev0 stays after dev0/delete"
	[ -d "$SELFTEST_TMP" ] || fail "the class went with dev0"
	selftest_run sysfs remove
	[ ! -e "$SELFTEST_TMP" ] || fail "$SELFTEST_TMP stays after remove"

	# Concurrent deletes of p0 and dev0, and remove while value is read.
	selftest_run sysfs create
	( echo 1 > "$SELFTEST_DEV0/paths/p0/delete" ) 2> /dev/null &
	local w1=$!
	( echo 1 > "$SELFTEST_DEV0/delete" ) 2> /dev/null &
	local w2=$!
	wait $w1; wait $w2
	[ ! -e "$SELFTEST_DEV0" ] || fail "dev0 stays after concurrent deletes"
	selftest_run sysfs remove
	selftest_run sysfs create
	reader_loop "$SELFTEST_DEV0/value"
	sleep 0.5
	selftest_run sysfs remove
	reader_stop
	[ ! -e "$SELFTEST_TMP" ] || fail "$SELFTEST_TMP stays after remove"

	# 50 create/remove cycles, every other one deleting p0 and dev0 from within first.
	for i in $(seq 50); do
		selftest_run sysfs create
		[ -d "$SELFTEST_DEV0/paths/p0" ] || fail "cycle $i: no p0"
		if [ $((i % 2)) = 0 ]; then
			expect_write OK "$SELFTEST_DEV0/paths/p0/delete" 1
			expect_write OK "$SELFTEST_DEV0/delete" 1
		fi
		selftest_run sysfs remove
		[ ! -e "$SELFTEST_TMP" ] || fail "cycle $i: $SELFTEST_TMP stays"
	done

	# rmmod with the temporary class present removes it too.
	selftest_run sysfs create
	selftest_unload
	[ ! -e "$SELFTEST_TMP" ] || fail "$SELFTEST_TMP stays after rmmod"
	[ ! -e /sys/class/rnbd-rs-selftest ] || fail "/sys/class/rnbd-rs-selftest stays after rmmod"
	# And the module loads again.
	selftest_load
	[ -d "$SELFTEST_CTL" ] || fail "no $SELFTEST_CTL after reload"
	selftest_unload
}

# Error paths (R11, R27, R29): the n-th slab allocation of `echo create > ctl/sysfs` fails,
# for every n until create makes fewer than n. A failed create returns an error and leaves
# nothing behind; KASAN and kmemleak (final_rmmod) check the rollback. A separate case: each
# of the ~150 creates is slow under TCG.
selftest_wanted && register selftest_sysfs_failslab 900 ""
case_selftest_sysfs_failslab() {
	selftest_fresh
	local fs=/sys/kernel/debug/failslab n res
	[ -d $fs ] || fail "no $fs"
	echo 0 > $fs/verbose
	echo N > $fs/ignore-gfp-wait
	for n in $(seq 1 400); do
		res=$(bash -c 'echo '"$n"' > /proc/thread-self/fail-nth
			printf "create\n" > '"$SELFTEST_CTL/sysfs"' 2> /dev/null; rc=$?
			read -r left < /proc/thread-self/fail-nth; echo 0 > /proc/thread-self/fail-nth
			echo "$rc $left"')
		if [ "${res%% *}" = 0 ]; then
			[ -d "$SELFTEST_DEV0/paths/p0" ] || fail "fail-nth $n: create succeeded without p0"
			selftest_run sysfs remove
		else
			[ ! -e "$SELFTEST_TMP" ] || fail "fail-nth $n: $SELFTEST_TMP left after a failed create"
		fi
		[ "${res#* }" = 0 ] || break
	done
	echo Y > $fs/ignore-gfp-wait
	[ "${res#* }" != 0 ] || fail "create still allocates after 400 injected failures"
	log "create: $((n - 1)) allocations failed in turn"
	[ ! -e "$SELFTEST_TMP" ] || fail "$SELFTEST_TMP left after the fault injection"
	selftest_unload
}
