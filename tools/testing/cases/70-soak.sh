# SPDX-License-Identifier: GPL-2.0-or-later
# The soak (make soak HOURS=N; reliability G1): a crc32c verify writer and a reader on a
# two-path mapping for SOAK_SECONDS while, every 5 to 30 s, one path flaps (disconnect,
# then reconnect), the multipath policy changes, or a second device is mapped, written,
# read back and unmapped. Registered only when SOAK_SECONDS is set (scripts/soak.sh).
# Writes soak.tsv (a sample per SOAK_SAMPLE seconds: memory, slab, counters) and
# soak-report.txt; fails on any verify error, fio error or failed action. Uses map_two,
# path_dir, path_connected and rdma_col from 10-conformance.sh and 20-paths.sh.

if [ -n "${SOAK_SECONDS:-}" ]; then
	register soak $((SOAK_SECONDS + 900)) "$ALL_MODULES"
fi

# soak_sample T: one line of soak.tsv: seconds, MemAvailable and Slab (kB), and per path
# its state, reconnects and requests (reads + writes) so far.
soak_sample() {
	local line p
	line="$1	$(awk '/^MemAvailable:/ { a = $2 } /^Slab:/ { s = $2 } END { print a "\t" s }' /proc/meminfo)"
	for p in "$P1" "$P2"; do
		line+="	$(cat "$p/state")	$(cut -d' ' -f1 "$p/stats/reconnects")	$(( $(rdma_col "$p" 1) + $(rdma_col "$p" 3) ))"
	done
	echo "$line" >> "$CASE_DIR/soak.tsv"
}

# soak_flap: takes one path down and up again; never both (the other must be connected).
soak_flap() {
	local p=$P1 q=$P2
	[ $((RANDOM % 2)) = 0 ] || { p=$P2 q=$P1; }
	path_connected "$q" || { log "flap skipped: ${q##*/} is not connected"; return 0; }
	expect_write OK "$p/disconnect" 1
	sleep $((1 + RANDOM % 5))
	expect_write OK "$p/reconnect" 1
	wait_until 30 path_connected "$p" || fail "${p##*/} did not come back after a flap"
}

# soak_second: maps /dev/ram1, writes 4 MiB of random data, reads it back, unmaps.
soak_second() {
	local keep=$DEV
	map s_soak /dev/ram1
	head -c 4M /dev/urandom > "$CASE_DIR/second.bin"
	dd if="$CASE_DIR/second.bin" of="$DEV" bs=1M oflag=direct status=none || fail "write to the second device"
	cmp <(dd if="$DEV" bs=1M count=4 iflag=direct status=none) "$CASE_DIR/second.bin" \
		|| fail "the second device read back other bytes"
	unmap "$DEV"
	DEV=$keep
}

case_soak() {
	local end=$(( $(date +%s) + SOAK_SECONDS )) t0=$(date +%s) policies=(round-robin min-inflight min-latency)
	local flaps=0 switches=0 seconds=0 sample=${SOAK_SAMPLE:-600}
	map_two s_soak
	P1=$(path_dir s_soak "$ADDR1") && P2=$(path_dir s_soak "$ADDR2") || fail "client paths missing"
	cat > "$CASE_DIR/soak.fio" <<-JOB
	[global]
	filename=$DEV
	direct=1
	ioengine=libaio
	time_based
	runtime=$SOAK_SECONDS
	size=48M
	[writer]
	rw=randwrite
	bs=4k
	iodepth=16
	verify=crc32c
	verify_fatal=1
	verify_backlog=1024
	[reader]
	rw=randread
	bs=64k
	iodepth=4
	JOB
	fio --output="$CASE_DIR/fio-soak.log" "$CASE_DIR/soak.fio" &
	local fio_pid=$!
	trap 'kill $fio_pid 2>/dev/null && wait $fio_pid' EXIT
	printf 'seconds\tmem_available_kb\tslab_kb\tp1_state\tp1_reconnects\tp1_requests\tp2_state\tp2_reconnects\tp2_requests\n' \
		> "$CASE_DIR/soak.tsv"
	soak_sample 0
	local next=$(( t0 + sample )) now
	while now=$(date +%s); [ $((now + 40)) -lt "$end" ]; do
		kill -0 $fio_pid 2>/dev/null || fail "fio ended early: $(tail -3 "$CASE_DIR/fio-soak.log")"
		sleep $((5 + RANDOM % 26))
		case $((RANDOM % 3)) in
		0) soak_flap; flaps=$((flaps + 1)) ;;
		1) expect_write OK /sys/class/rtrs-client/s_soak/mpath_policy "${policies[RANDOM % 3]}"
		   switches=$((switches + 1)) ;;
		2) soak_second; seconds=$((seconds + 1)) ;;
		esac
		[ "$(date +%s)" -lt "$next" ] || { soak_sample $(( $(date +%s) - t0 )); next=$((next + sample)); }
	done
	local rc=0
	wait $fio_pid || rc=$?
	trap - EXIT
	soak_sample $(( $(date +%s) - t0 ))
	local verr hours first last
	verr=$(grep -ciE 'verify: bad|crc32c: verify failed|bad magic' "$CASE_DIR/fio-soak.log")
	hours=$(awk -v s=$(( $(date +%s) - t0 )) 'BEGIN { printf "%.3f", s / 3600 }')
	first=$(sed -n 2p "$CASE_DIR/soak.tsv") last=$(tail -1 "$CASE_DIR/soak.tsv")
	{
		echo "soak: $hours h, $flaps path flaps, $switches policy switches, $seconds second-device cycles"
		echo "fio: exit $rc, verify errors $verr, $(grep -m1 'err=' "$CASE_DIR/fio-soak.log" | sed 's/^ *//')"
		awk -F'\t' -v h="$hours" -v a="$first" -v b="$last" 'BEGIN {
			split(a, x, "\t"); split(b, y, "\t")
			printf "memory drift: MemAvailable %+d kB/h, Slab %+d kB/h (%d -> %d kB)\n",
				(y[2] - x[2]) / h, (y[3] - x[3]) / h, x[3], y[3]
			printf "path 1: %d reconnects, %d requests; path 2: %d reconnects, %d requests\n",
				y[5], y[6], y[8], y[9] }'
	} > "$CASE_DIR/soak-report.txt"
	cat "$CASE_DIR/soak-report.txt"
	[ "$verr" = 0 ] || fail "$verr verify errors (see fio-soak.log)"
	[ "$rc" = 0 ] && grep -q "err= 0" "$CASE_DIR/fio-soak.log" || fail "fio failed (exit $rc, see fio-soak.log)"
	unmap "$DEV"
	expect_clean
}
