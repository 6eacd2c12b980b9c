# SPDX-License-Identifier: GPL-2.0-or-later
# Guest side of the benchmark harness (sourced after tools/testing/vm/lib.sh): the systems
# under test, the fio cells, and bench_run, which runs the matrix with the repetitions
# interleaved across systems (rep 1 of every system, then rep 2, ...).
#
# A system is "NAME[:VARIANT]": rnbd-rust and rnbd-c (variant inv=Y|N, optionally
# ",mp=POLICY" for two paths with that multipath policy, and ",clt=c|rust" or
# ",srv=c|rust" for the other implementation on that side), nvmeof (nvme-rdma to
# nvmet-rdma), iser (open-iscsi with ib_iser to LIO with ib_isert), srp (ib_srp to ib_srpt),
# local (the backing device itself: the no-network limit) and raw-verbs (perftest over
# the soft-RoCE device: the transport limit). Every networked system runs over rxe0 of
# this guest, on the same null_blk backing, with 256 requests in flight at most.
#
# Output, in OUT: runs.jsonl (one line per run, see scripts/bench_report.py), raw/ (fio's
# json+ reports, perftest's output), logs/ (setup and teardown logs, dmesg per system).

# The backings: name -> block device. null_blk through configfs (512 B blocks for the
# IONOS block-size mix): "nullb" not memory-backed (the transport limit), "nullb-mem"
# memory-backed and filled once (data really moves); brd for the local row.
declare -A BACKING_DEV=([nullb]=/dev/benchnb [nullb-mem]=/dev/benchnbm [brd]=/dev/ram0)
NULLB_CFS=/sys/kernel/config/nullb

# nullb_make NAME SIZE_MB MEMORY_BACKED: a null_blk device with the settings of the
# benchmark notes (mq, 2 submit queues, depth 256, completion in the submitting context).
nullb_make() {
	local d=$NULLB_CFS/$1
	[ -d "$d" ] && return 0
	mkdir "$d" || return 1
	echo 2 > "$d/queue_mode" && echo 2 > "$d/submit_queues" && echo 256 > "$d/hw_queue_depth" \
		&& echo 0 > "$d/irqmode" && echo 0 > "$d/completion_nsec" && echo 512 > "$d/blocksize" \
		&& echo "$2" > "$d/size" && echo "$3" > "$d/memory_backed" && echo 1 > "$d/power" \
		|| return 1
	wait_until 10 test -b "/dev/$1"
}

# backing_up NAME: makes the backing ready (once per boot).
backing_up() {
	case "$1" in
	nullb) nullb_make benchnb "$BENCH_NULLB_MB" 0 ;;
	nullb-mem)
		[ -b /dev/benchnbm ] && return 0
		nullb_make benchnbm "$BENCH_NULLB_MEM_MB" 1 || return 1
		# Filled once, so that reads move real pages (an unwritten memory-backed device
		# answers reads without touching memory).
		dd if=/dev/zero of=/dev/benchnbm bs=1M count="$BENCH_NULLB_MEM_MB" oflag=direct status=none
		;;
	brd)
		[ -b /dev/ram0 ] || modprobe brd rd_nr=1 rd_size=$((BENCH_NULLB_MEM_MB * 1024)) || return 1
		dd if=/dev/zero of=/dev/ram0 bs=1M count="$BENCH_NULLB_MEM_MB" oflag=direct status=none
		;;
	*) echo "unknown backing '$1'" >&2; return 1 ;;
	esac
}

backing_down() {
	local n
	for n in benchnb benchnbm; do [ ! -d "$NULLB_CFS/$n" ] || rmdir "$NULLB_CFS/$n"; done
}

## The systems. sys_up SYSTEM VARIANT BACKING makes the device and sets BDEV; sys_down
## SYSTEM takes everything down again (modules included), so the next system starts from
## the same state. Both end the (sub)shell with fail on an error.

rnbd_up() { # rnbd_up rust|c VARIANT DEVICE
	local clt=$1 srv=$1 inv= mp= kv
	for kv in ${2//,/ }; do
		case "$kv" in
		inv=Y|inv=N) inv=${kv#inv=} ;;
		mp=*) mp=${kv#mp=} ;;
		# The other implementation on one side (RTRS and RNBD together), to tell which
		# side a difference comes from.
		clt=c|clt=rust) clt=${kv#clt=} ;;
		srv=c|srv=rust) srv=${kv#srv=} ;;
		*) fail "rnbd: bad variant '$2'" ;;
		esac
	done
	[ -n "$inv" ] || fail "rnbd: variant '$2' has no inv=Y|N"
	RTRS_CLIENT=$clt RNBD_CLIENT=$clt RTRS_SERVER=$srv RNBD_SERVER=$srv
	RTRS_SRV_PARAMS="always_invalidate=$inv sess_queue_depth=256"
	load_modules
	if [ -n "$mp" ]; then
		map bench "$3" "path=ip:$ADDR1" "path=ip:$ADDR2"
		expect_write OK /sys/class/rtrs-client/bench/mpath_policy "$mp"
	else
		map bench "$3"
	fi
	BDEV=$DEV
}

rnbd_down() {
	unmap_all
	wait_until 30 no_leftovers || fail "rnbd: left behind: $(leftovers | tr '\n' ' ')"
	unload_modules
}

NVMET_CFS=/sys/kernel/config/nvmet
NQN=nqn.2026-11.io.rnbd-rs:bench
nvmeof_up() { # nvmeof_up DEVICE
	modprobe -a nvmet nvmet-rdma nvme-rdma || fail "modprobe nvmet nvmet-rdma nvme-rdma"
	local s=$NVMET_CFS/subsystems/$NQN p=$NVMET_CFS/ports/1
	mkdir "$s" && echo 1 > "$s/attr_allow_any_host" && mkdir "$s/namespaces/1" \
		&& echo "$1" > "$s/namespaces/1/device_path" && echo 1 > "$s/namespaces/1/enable" \
		|| fail "nvmet: subsystem"
	mkdir "$p" && echo rdma > "$p/addr_trtype" && echo ipv4 > "$p/addr_adrfam" \
		&& echo "$ADDR1" > "$p/addr_traddr" && echo 4420 > "$p/addr_trsvcid" \
		&& ln -s "$s" "$p/subsystems/$NQN" || fail "nvmet: port"
	# Two IO queues of 128: the 256 in flight of the RNBD sessions.
	nvme connect -t rdma -a "$ADDR1" -s 4420 -n "$NQN" --nr-io-queues=2 --queue-size=128 \
		|| fail "nvme connect"
	local c
	wait_until 20 nvme_ns_of_nqn || fail "nvme: no namespace for $NQN"
	BDEV=$(nvme_ns_of_nqn)
}

# Prints /dev/nvmeXnY of the controller connected to NQN.
nvme_ns_of_nqn() {
	local c n
	for c in /sys/class/nvme/nvme*; do
		[ "$(cat "$c/subsysnqn" 2>/dev/null)" = "$NQN" ] || continue
		for n in "$c"/nvme*n*; do [ -b "/dev/${n##*/}" ] && { echo "/dev/${n##*/}"; return 0; }; done
	done
	return 1
}

nvmeof_down() {
	nvme disconnect -n "$NQN" >/dev/null || fail "nvme disconnect"
	local s=$NVMET_CFS/subsystems/$NQN p=$NVMET_CFS/ports/1
	[ -L "$p/subsystems/$NQN" ] && rm "$p/subsystems/$NQN"
	[ -d "$p" ] && rmdir "$p"
	[ -d "$s/namespaces/1" ] && { echo 0 > "$s/namespaces/1/enable"; rmdir "$s/namespaces/1"; }
	[ -d "$s" ] && rmdir "$s"
	modprobe -r nvme-rdma nvmet-rdma nvmet || fail "modprobe -r nvme-rdma nvmet-rdma nvmet"
}

## LIO (iSER and SRP targets): one iblock backstore on the backing device.
LIO=/sys/kernel/config/target
lio_backstore() { # lio_backstore DEVICE
	modprobe -a target_core_mod target_core_iblock || fail "modprobe target_core_iblock"
	local b=$LIO/core/iblock_0/bench
	mkdir -p "$b" && echo "udev_path=$1" > "$b/control" && echo 1 > "$b/enable" \
		|| fail "LIO: iblock backstore on $1"
}

lio_backstore_down() {
	local b=$LIO/core/iblock_0
	[ -d "$b/bench" ] && rmdir "$b/bench"
	[ -d "$b" ] && rmdir "$b"
	return 0
}

# The SCSI disk of the SCSI host whose proc_name is $1 (ib_srp) or of the iSCSI session.
scsi_disk_of() {
	local h b
	for h in /sys/class/scsi_host/host*; do
		[ "$(cat "$h/proc_name" 2>/dev/null)" = "$1" ] || continue
		for b in "$h"/device/target*/*/block/* "$h"/device/session*/target*/*/block/*; do
			[ -e "$b" ] && { echo "/dev/${b##*/}"; return 0; }
		done
	done
	return 1
}

IQN=iqn.2026-11.io.rnbd-rs:bench
ISCSI_RUN=/run/rnbd-rs-iscsi
iser_up() { # iser_up DEVICE
	lio_backstore "$1"
	modprobe -a iscsi_target_mod ib_isert ib_iser || fail "modprobe iscsi_target_mod ib_isert ib_iser"
	local t=$LIO/iscsi/$IQN/tpgt_1
	mkdir -p "$t/lun/lun_0" && ln -s "$LIO/core/iblock_0/bench" "$t/lun/lun_0/bench" \
		&& mkdir "$t/np/$ADDR1:3260" && echo 1 > "$t/np/$ADDR1:3260/iser" \
		|| fail "LIO iSCSI: target, LUN and iSER portal"
	local a
	for a in authentication=0 generate_node_acls=1 demo_mode_write_protect=0 cache_dynamic_acls=1; do
		echo "${a#*=}" > "$t/attrib/${a%=*}" || fail "LIO iSCSI: attrib $a"
	done
	echo 1 > "$t/enable" || fail "LIO iSCSI: enable"
	# open-iscsi keeps its node records under /etc/iscsi, read-only in this guest: a tmpfs
	# copy with an initiator name of its own.
	mkdir -p "$ISCSI_RUN" && mount -t tmpfs none "$ISCSI_RUN" && cp /etc/iscsi/iscsid.conf "$ISCSI_RUN/" \
		&& echo "InitiatorName=iqn.2026-11.io.rnbd-rs:initiator" > "$ISCSI_RUN/initiatorname.iscsi" \
		&& mount --bind "$ISCSI_RUN" /etc/iscsi || fail "iscsi: /etc/iscsi on tmpfs"
	# The initiator's queue: 256 in flight, as for the other systems.
	sed -i -e 's/^node.session.cmds_max.*/node.session.cmds_max = 256/' \
		-e 's/^node.session.queue_depth.*/node.session.queue_depth = 256/' /etc/iscsi/iscsid.conf
	iscsid || fail "iscsid did not start"
	iscsiadm -m node -o new -T "$IQN" -p "$ADDR1:3260" -I iser >/dev/null \
		&& iscsiadm -m node -T "$IQN" -p "$ADDR1:3260" -I iser --login || fail "iscsiadm login over iSER"
	wait_until 20 scsi_disk_of iscsi_iser || fail "iSER: no SCSI disk"
	BDEV=$(scsi_disk_of iscsi_iser)
	echo none > "/sys/block/${BDEV#/dev/}/queue/scheduler"
}

iser_down() {
	iscsiadm -m node -T "$IQN" -p "$ADDR1:3260" --logout >/dev/null
	iscsiadm -m node -o delete >/dev/null 2>&1
	pkill -x iscsid
	wait_until 10 sh -c '! pgrep -x iscsid >/dev/null' || fail "iscsid does not stop"
	mountpoint -q /etc/iscsi && umount /etc/iscsi
	mountpoint -q "$ISCSI_RUN" && umount "$ISCSI_RUN"
	local t=$LIO/iscsi/$IQN/tpgt_1
	if [ -d "$t" ]; then
		echo 0 > "$t/enable"
		[ -d "$t/np/$ADDR1:3260" ] && rmdir "$t/np/$ADDR1:3260"
		[ -L "$t/lun/lun_0/bench" ] && rm "$t/lun/lun_0/bench"
		[ -d "$t/lun/lun_0" ] && rmdir "$t/lun/lun_0"
		rmdir "$t" "$LIO/iscsi/$IQN"
	fi
	# The fabric's folder holds its module.
	[ ! -d "$LIO/iscsi" ] || rmdir "$LIO/iscsi"
	lio_backstore_down
	modprobe -r ib_iser ib_isert iscsi_target_mod target_core_iblock || fail "unloading the iSER modules"
}

SRP_PORT=5555
srp_up() { # srp_up DEVICE
	lio_backstore "$1"
	modprobe ib_srpt || fail "modprobe ib_srpt"
	mkdir -p "$LIO/srpt" 2>/dev/null
	echo $SRP_PORT > "$LIO/srpt/discovery_auth/rdma_cm_port" || fail "ib_srpt: rdma_cm_port"
	# The target port is named after the port GUID of rxe0 (the interface ID of its GID 0):
	# ib_srpt matches an RDMA/CM login's address, the ACL here, only under that name.
	local guid_name t
	guid_name=$(cut -d: -f5-8 /sys/class/infiniband/rxe0/ports/1/gids/0)
	t=$LIO/srpt/$guid_name/tpg_1
	mkdir -p "$t/lun/lun_0" && ln -s "$LIO/core/iblock_0/bench" "$t/lun/lun_0/bench" \
		&& mkdir -p "$t/acls/$ADDR1/lun_0" && ln -s "$t/lun/lun_0" "$t/acls/$ADDR1/lun_0/lun_0" \
		&& echo 1 > "$t/enable" || fail "ib_srpt: target port $guid_name"
	modprobe ib_srp || fail "modprobe ib_srp"
	local guid
	guid=$(tr -d : < /sys/class/infiniband/rxe0/node_guid)
	echo "id_ext=$guid,ioc_guid=$guid,dest=$ADDR1:$SRP_PORT,queue_size=128,max_cmd_per_lun=128" \
		> /sys/class/infiniband_srp/srp-rxe0-1/add_target || fail "ib_srp: add_target"
	wait_until 20 scsi_disk_of ib_srp || fail "SRP: no SCSI disk"
	BDEV=$(scsi_disk_of ib_srp)
	echo none > "/sys/block/${BDEV#/dev/}/queue/scheduler"
}

srp_down() {
	local p
	for p in /sys/class/srp_remote_ports/port-*; do [ -e "$p/delete" ] && echo 1 > "$p/delete"; done
	wait_until 20 sh -c '! ls -d /sys/class/srp_remote_ports/port-* >/dev/null 2>&1' || fail "SRP: port stays"
	modprobe -r ib_srp || fail "modprobe -r ib_srp"
	local t
	for t in "$LIO"/srpt/*:*/tpg_1; do
		[ -d "$t" ] || continue
		echo 0 > "$t/enable"
		rm -f "$t/acls/$ADDR1/lun_0/lun_0" && rmdir "$t/acls/$ADDR1/lun_0" "$t/acls/$ADDR1"
		rm -f "$t/lun/lun_0/bench" && rmdir "$t/lun/lun_0" "$t" "${t%/tpg_1}"
	done
	[ ! -d "$LIO/srpt" ] || rmdir "$LIO/srpt"
	lio_backstore_down
	modprobe -r ib_srpt target_core_iblock || fail "unloading the SRP modules"
}

sys_up() { # sys_up SYSTEM VARIANT BACKING
	local dev=${BACKING_DEV[$3]:-}
	case "$1" in
	rnbd-rust) rnbd_up rust "$2" "$dev" ;;
	rnbd-c) rnbd_up c "$2" "$dev" ;;
	nvmeof) nvmeof_up "$dev" ;;
	iser) iser_up "$dev" ;;
	srp) srp_up "$dev" ;;
	local) BDEV=$dev ;;
	raw-verbs) modprobe -a ib_uverbs rdma_ucm || fail "modprobe ib_uverbs rdma_ucm" ;;
	*) fail "unknown system '$1'" ;;
	esac
}

sys_down() {
	case "$1" in
	rnbd-rust|rnbd-c) rnbd_down ;;
	nvmeof) nvmeof_down ;;
	iser) iser_down ;;
	srp) srp_down ;;
	raw-verbs)
		# rdma_ucm holds rdma_cm, so it goes. ib_uverbs stays held for a while after the
		# perftest processes are gone (seen under TCG): it is left loaded, which disturbs
		# nothing else.
		pkill -f '^ib_(write|read)_(bw|lat) '
		wait_until 20 modprobe -r rdma_ucm || fail "modprobe -r rdma_ucm"
		modprobe -r ib_uverbs 2>/dev/null || echo "ib_uverbs stays loaded"
		;;
	local) ;;
	esac
}

## The cells. cell_fio CELL prints fio's options for it, one per line.
# Every cell of the issue: 4 KiB random read and write at queue depth 1, 32 and 128 with
# 1 and 2 jobs; 64 KiB and 1 MiB sequential read and write; the IONOS 50/50 mix.
BENCH_ALL_CELLS="rr4k-qd1-j1 rr4k-qd32-j1 rr4k-qd128-j1 rr4k-qd1-j2 rr4k-qd32-j2 rr4k-qd128-j2
rw4k-qd1-j1 rw4k-qd32-j1 rw4k-qd128-j1 rw4k-qd1-j2 rw4k-qd32-j2 rw4k-qd128-j2
sr64k sw64k sr1m sw1m ionos"
RAW_CELLS="write-bw-4k write-bw-64k write-lat-4k read-lat-4k"

cell_fio() {
	local c=$1
	case "$c" in
	r[rw]4k-qd*-j*)
		local rw=randread qd=${c#*-qd} nj=${c##*-j}
		qd=${qd%%-*}
		[ "${c:1:1}" = w ] && rw=randwrite
		printf '%s\n' --ioengine=io_uring --rw=$rw --bs=4k --iodepth="$qd" --numjobs="$nj" \
			--norandommap --randrepeat=0 --random_generator=lfsr
		;;
	s[rw]64k|s[rw]1m)
		local rw=read bs=${c:2}
		[ "${c:1:1}" = w ] && rw=write
		printf '%s\n' --ioengine=io_uring --rw=$rw --bs="$bs" \
			--iodepth="$([ "$bs" = 64k ] && echo 16 || echo 4)" --numjobs=1
		;;
	ionos) # The published IONOS profile (notes/benchmarks.md §1a).
		printf '%s\n' --ioengine=libaio --rw=randrw:2 --rwmixread=50 \
			--bssplit=512/20:1k/16:2k/9:4k/12:8k/19:16k/10:32k/8:64k/4 \
			--random_distribution=zipf:1.2 --iodepth=128 --iodepth_batch_submit=128 \
			--iodepth_batch_complete=128 --numjobs=1 --fadvise_hint=0
		;;
	*) return 1 ;;
	esac
}

# CPU seconds busy and in all of the guest's CPUs, from /proc/stat: "BUSY ALL".
cpu_now() {
	awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" {
		busy = $2 + $3 + $4 + $7 + $8 + $9; all = busy + $5 + $6
		printf "%.2f %.2f\n", busy / hz, all / hz }' /proc/stat
}

# cpu_fields BEFORE AFTER: record's cpu_busy_s= and cpu_all_s= of two cpu_now readings.
cpu_fields() {
	local b0 a0 b1 a1
	read -r b0 a0 <<<"$1"; read -r b1 a1 <<<"$2"
	echo "cpu_busy_s=$(echo "$b1 - $b0" | bc) cpu_all_s=$(echo "$a1 - $a0" | bc)"
}

# record KEY=JSON_VALUE...: one line of runs.jsonl from the current run's settings.
record() {
	local kv line="{\"system\": \"$SYS\", \"variant\": \"$VARIANT\", \"backing\": \"$BACKING\", \"cell\": \"$CELL\", \"rep\": $REP"
	for kv in "$@"; do line+=", \"${kv%%=*}\": ${kv#*=}"; done
	echo "$line}" >> "$BENCH_OUT/runs.jsonl"
}

json_str() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '"%s"' "${s//$'\n'/ }"; }

# run_fio_cell: the warm-up, then the measured run of CELL on BDEV with the CPU counted.
run_fio_cell() {
	local args rel=raw/$SYS/${VARIANT:-default}/$BACKING/$CELL.$REP.json
	cell_fio "$CELL" >/dev/null || { record kind='"fio"' ok=false error='"unknown cell"'; return; }
	mapfile -t args < <(cell_fio "$CELL")
	mkdir -p "$BENCH_OUT/${rel%/*}"
	local common=(--name="$CELL" --filename="$BDEV" --direct=1 --time_based --group_reporting)
	fio "${common[@]}" "${args[@]}" --runtime="$BENCH_RAMP" --output=/dev/null >/dev/null 2>&1
	local c0 c1 t0 t1 err= prof=
	c0=$(cpu_now) t0=$(date +%s.%N)
	# BENCH_PROFILE=1: a flat profile of the whole guest while fio runs (timer sampling:
	# TCG has no PMU). It costs CPU: the figures of a profiled run are not comparable.
	if [ "${BENCH_PROFILE:-0}" = 1 ]; then
		perf record -e cpu-clock -F 499 -a -q -o "$BENCH_OUT/$rel.perf.data" \
			-- sleep "$BENCH_RUNTIME" >/dev/null 2>&1 &
		prof=$!
	fi
	fio "${common[@]}" "${args[@]}" --runtime="$BENCH_RUNTIME" --output-format=json+ \
		--percentile_list=50:90:99:99.9:99.99 --output="$BENCH_OUT/$rel" >/dev/null 2>"$BENCH_OUT/$rel.err" \
		|| err="fio failed: $(tail -2 "$BENCH_OUT/$rel.err" | tr '\n' ' ')"
	c1=$(cpu_now) t1=$(date +%s.%N)
	if [ -n "$prof" ]; then
		wait "$prof"
		perf report -i "$BENCH_OUT/$rel.perf.data" --stdio --sort dso,sym --percent-limit 0.3 \
			> "$BENCH_OUT/${rel%.json}.profile.txt" 2>&1
		rm -f "$BENCH_OUT/$rel.perf.data"
	fi
	[ -n "$err" ] || ! grep -q '"error" : [1-9]' "$BENCH_OUT/$rel" || err="fio reported an IO error"
	[ -s "$BENCH_OUT/$rel.err" ] || rm -f "$BENCH_OUT/$rel.err"
	# shellcheck disable=SC2046 # two KEY=VALUE words
	record kind='"fio"' file="$(json_str "$rel")" $(cpu_fields "$c0" "$c1") wall_s="$(echo "$t1 - $t0" | bc)" \
		ok=$([ -z "$err" ] && echo true || echo false) error="$(json_str "$err")"
}

# run_raw_cell: perftest between two processes over rxe0, connected with RDMA/CM.
run_raw_cell() {
	local tool size=4096 mode rel=raw/$SYS/$CELL.$REP.txt
	case "$CELL" in
	write-bw-4k) tool=ib_write_bw mode=bw ;;
	write-bw-64k) tool=ib_write_bw mode=bw size=65536 ;;
	write-lat-4k) tool=ib_write_lat mode=lat ;;
	read-lat-4k) tool=ib_read_lat mode=lat ;;
	*) record kind='"metrics"' ok=false error='"unknown cell"'; return ;;
	esac
	mkdir -p "$BENCH_OUT/${rel%/*}"
	# Bandwidth for the run time; latency over a fixed count (rxe takes some 100 us).
	local opts=(-d rxe0 -R -F -s "$size" -p 18515)
	if [ $mode = bw ]; then opts+=(-D "$BENCH_RUNTIME"); else opts+=(-n $((BENCH_RUNTIME * 500))); fi
	timeout $((BENCH_RUNTIME + 40)) "$tool" "${opts[@]}" > "$BENCH_OUT/$rel.server" 2>&1 &
	local srv=$! c0 c1 err=
	sleep 1
	c0=$(cpu_now)
	timeout $((BENCH_RUNTIME + 30)) "$tool" "${opts[@]}" "$ADDR1" > "$BENCH_OUT/$rel" 2>&1 || err="$tool failed: $(tail -2 "$BENCH_OUT/$rel" | tr '\n' ' ')"
	c1=$(cpu_now)
	wait $srv 2>/dev/null
	local fields=()
	if [ -z "$err" ]; then
		# bw: "#bytes #iterations BW peak[MB/sec] BW average[MB/sec] MsgRate[Mpps]";
		# lat: "#bytes #iterations t_min t_max t_typical t_avg t_stdev 99% 99.9%" (usec).
		local line
		line=$(awk -v s="$size" '$1 == s && NF >= 5 { l = $0 } END { print l }' "$BENCH_OUT/$rel")
		[ -n "$line" ] || err="no result line in $tool's output"
		set -- $line
		if [ -z "$err" ] && [ $mode = bw ]; then
			fields=(iops="$(echo "$5 * 1000000 / 1" | bc)" bw_bytes="$(echo "$4 * 1048576 / 1" | bc)" ios="$2")
		elif [ -z "$err" ]; then
			fields=(ios="$2" lat_p50_us="$5" lat_mean_us="$6" lat_p99_us="$8" lat_p999_us="$9"
				iops="$(echo "1000000 / $6" | bc)")
		fi
	fi
	# shellcheck disable=SC2046 # two KEY=VALUE words
	record kind='"metrics"' "${fields[@]}" $(cpu_fields "$c0" "$c1") \
		ok=$([ -z "$err" ] && echo true || echo false) error="$(json_str "$err")"
}

# bench_block SYSTEM VARIANT BACKING REP CELLS...: one system up, its cells, down again.
# Runs in a subshell: a setup failure (fail) fails the cells not run, and the block's
# logs go to logs/.
bench_block() {
	SYS=$1 VARIANT=$2 BACKING=$3 REP=$4
	shift 4
	local log=$BENCH_OUT/logs/$SYS${VARIANT:+_$VARIANT}_$BACKING.$REP
	mkdir -p "$BENCH_OUT/logs"
	dmesg -C
	local done_file=$log.done
	: > "$done_file"
	(
		set -x
		if [ "$SYS" != raw-verbs ]; then
			backing_up "$BACKING" || fail "backing $BACKING"
		fi
		sys_up "$SYS" "$VARIANT" "$BACKING"
		for CELL in "$@"; do
			if [ "$SYS" = raw-verbs ]; then run_raw_cell; else run_fio_cell; fi
			echo "$CELL" >> "$done_file"
		done
		sys_down "$SYS"
	) > "$log.log" 2>&1
	local rc=$? why
	why=$(grep -m1 '^FAIL:' "$log.log")
	for CELL in "$@"; do
		grep -qx "$CELL" "$done_file" && continue
		record kind='"fio"' ok=false error="$(json_str "set-up failed: ${why:-exit $rc}")"
	done
	dmesg > "$log.dmesg"
	if [ $rc != 0 ]; then
		echo "bench: $SYS $VARIANT $BACKING rep $REP: ${why:-exit $rc}" >&2
		# Whatever is left would disturb the next system.
		(sys_down "$SYS") >> "$log.log" 2>&1
	fi
	if grep -Eq "$BAD_DMESG" "$log.dmesg"; then
		echo "bench: $SYS $VARIANT $BACKING rep $REP: dmesg: $(grep -Em1 "$BAD_DMESG" "$log.dmesg")" >&2
		return 1
	fi
	return $rc
}

# bench_run OUT: the matrix of BENCH_SYSTEMS x BENCH_BACKINGS x BENCH_CELLS, BENCH_REPS
# times, repetitions interleaved across systems. Returns 1 if any block failed.
bench_run() {
	BENCH_OUT=$1
	mkdir -p "$BENCH_OUT"
	: > "$BENCH_OUT/runs.jsonl"
	{
		echo "kernel: $(uname -r) $(cat /proc/version)"
		echo "cpus: $(nproc); memory: $(awk '/MemTotal/ { print $2 " kB" }' /proc/meminfo)"
		echo "systems: $BENCH_SYSTEMS"
		echo "backings: $BENCH_BACKINGS; cells: $(echo $BENCH_CELLS)"
		echo "repetitions: $BENCH_REPS; runtime: $BENCH_RUNTIME s (+ $BENCH_RAMP s warm-up)"
		echo "rxe: $(rdma link show | tr '\n' ';'); mtu $(cat /sys/class/net/$NIC/mtu)"
		echo "fio: $(fio --version); perftest: $(ib_write_bw --version 2>&1 | head -1)"
	} > "$BENCH_OUT/env.txt"
	local rep s sys variant b rc=0
	for rep in $(seq 1 "$BENCH_REPS"); do
		for s in $BENCH_SYSTEMS; do
			sys=${s%%:*} variant=
			[ "$sys" = "$s" ] || variant=${s#*:}
			if [ "$sys" = raw-verbs ]; then
				bench_block raw-verbs "" "" "$rep" $RAW_CELLS || rc=1
				continue
			fi
			for b in $BENCH_BACKINGS; do
				[ "$b" != brd ] || [ "$sys" = local ] || continue
				bench_block "$sys" "$variant" "$b" "$rep" $BENCH_CELLS || rc=1
			done
		done
	done
	return $rc
}
