# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark cases (make bench): each runs fio on one device and keeps fio's JSON report in
# its folder; scripts/bench.sh turns the reports into the result table. A case fails when
# the IO path fails (fio error, dmesg splat, leftovers), never because of a figure.

BENCH_RUNTIME=${BENCH_RUNTIME:-30}

# bench_fio NAME FILE FIO_ARGS...: a time-based fio job with a 5 s ramp, JSON output.
bench_fio() {
	local name=$1 file=$2
	shift 2
	fio --name="$name" --filename="$file" --output-format=json \
		--output="$CASE_DIR/fio-$name.json" --direct=1 --ioengine=libaio \
		--time_based --runtime="$BENCH_RUNTIME" --ramp_time=5 --group_reporting "$@" \
		|| fail "fio $name failed: $(tail -3 "$CASE_DIR/fio-$name.json" | tr '\n' ' ')"
}

# 4 KiB random reads at queue depth 32, one job: the local device (the limit of the guest),
# then the same device through RNBD/RTRS.
RANDREAD=(--rw=randread --bs=4k --iodepth=32 --numjobs=1)

register local_randread_4k_qd32 300 ""
case_local_randread_4k_qd32() { bench_fio randread /dev/nullb0 "${RANDREAD[@]}"; }

register rnbd_randread_4k_qd32 300 "$ALL_MODULES"
case_rnbd_randread_4k_qd32() {
	map b_rr /dev/nullb0
	bench_fio randread "$DEV" "${RANDREAD[@]}"
	unmap "$DEV"
	expect_clean
}
