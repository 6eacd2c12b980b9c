# SPDX-License-Identifier: GPL-2.0-or-later
# RNBD acceptance cases (wire-protocol.md §14, sysfs-abi.md §4-5): what the block devices
# on both ends carry and show. The C modules are the reference; the cases registered with a
# reason are Rust-only behaviour that the C modules fail.

# A tmpfs of our own for backing files (tmpfs supports punch hole, O_DIRECT and resizing).
SCRATCH=/run/rnbd-scratch
scratch_mount() {
	mkdir -p $SCRATCH && mount -t tmpfs -o size=160m rnbd-scratch $SCRATCH || fail "cannot mount a tmpfs at $SCRATCH"
}
# Unmaps what the case left, detaches the loop devices of SCRATCH and unmounts it.
scratch_cleanup() {
	unmap_all
	wait_until 20 no_leftovers
	local l
	for l in $(losetup -j "$SCRATCH/disk" -O NAME -n 2>/dev/null); do losetup -d "$l"; done
	mountpoint -q $SCRATCH && umount $SCRATCH
	rmdir $SCRATCH 2>/dev/null
	return 0
}
# loop_setup SIZE: a file of SIZE on the scratch tmpfs behind a loop device; sets LOOP.
loop_setup() {
	modprobe loop || fail "modprobe loop"
	scratch_mount
	trap scratch_cleanup EXIT
	truncate -s "$1" $SCRATCH/disk || fail "truncate $SCRATCH/disk"
	LOOP=$(losetup -f --show $SCRATCH/disk) || fail "losetup $SCRATCH/disk"
}

# qattr DISK NAME: /sys/block/DISK/queue/NAME.
qattr() { read_attr "/sys/block/$1/queue/$2"; }
# same_qattrs CLIENT SERVER NAME...: each queue attribute reads the same on both disks.
same_qattrs() {
	local c=$1 s=$2 a; shift 2
	for a in "$@"; do
		[ "$(qattr "$c" "$a")" = "$(qattr "$s" "$a")" ] \
			|| fail "queue/$a: $c reads '$(qattr "$c" "$a")', $s (the server's device) '$(qattr "$s" "$a")'"
	done
}
# cache_is DISK WRITE_CACHE FUA: queue/write_cache and queue/fua of DISK.
cache_is() {
	[ "$(qattr "$1" write_cache)" = "$2" ] && [ "$(qattr "$1" fua)" = "$3" ] \
		|| fail "$1: write_cache '$(qattr "$1" write_cache)' fua $(qattr "$1" fua), expected '$2' $3"
}
# flushes DISK: flush requests the disk completed (field 16 of /sys/block/DISK/stat).
flushes() { awk '{ print $16 }' "/sys/block/$1/stat"; }
# zero_range FILE OFFSET LENGTH: zeroes bytes of FILE in place (512-byte multiples).
zero_range() {
	dd if=/dev/zero of="$1" bs=512 seek="$(($2 / 512))" count="$(($3 / 512))" conv=notrunc status=none \
		|| fail "dd into $1"
}
# same_bytes A B OFFSET LENGTH WHAT: LENGTH bytes from OFFSET of A and B are equal.
same_bytes() {
	cmp -n "$4" -i "$3:$3" "$1" "$2" || fail "$5 differs from the expected data: $(cmp -n "$4" -i "$3:$3" "$1" "$2" 2>&1)"
}
# read_back DEV OFFSET LENGTH OUT: O_DIRECT read of LENGTH bytes (64 KiB multiples) at OFFSET into OUT.
read_back() {
	dd if="$1" of="$4" bs=64k skip="$(($2 / 65536))" count="$(($3 / 65536))" iflag=direct status=none \
		|| fail "read back from $1"
}

NULLB_CFG=/sys/kernel/config/nullb/nullb_wc
# A memory-backed null_blk with a write cache and FUA, made through configfs: /dev/nullb_wc.
nullb_wc_create() {
	mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config || fail "mount configfs"
	mkdir $NULLB_CFG || fail "mkdir $NULLB_CFG"
	trap 'unmap_all; wait_until 20 no_leftovers; nullb_wc_remove' EXIT
	local kv
	for kv in memory_backed=1 size=64 cache_size=16 fua=1 blocksize=512 power=1; do
		echo "${kv#*=}" > "$NULLB_CFG/${kv%%=*}" || fail "nullb_wc: ${kv%%=*}=${kv#*=}"
	done
	wait_until 10 test -b /dev/nullb_wc || fail "/dev/nullb_wc did not appear"
}
nullb_wc_remove() {
	[ -d $NULLB_CFG ] || return 0
	echo 0 > $NULLB_CFG/power
	rmdir $NULLB_CFG
}

# fio crc32c verify with O_SYNC (FUA) writes and fsync/fdatasync. The rnbd disk's write
# cache and FUA follow the server's device: none for brd, both for a null_blk with a cache;
# FUA without a write cache is not taken over (C honours FUA only with WRITEBACK). Flushes
# reach the server's device.
register fio_verify_flush_fua 600 "$ALL_MODULES"
case_fio_verify_flush_fua() {
	map s_wc /dev/ram0
	local n=${DEV#/dev/}
	cache_is ram0 "write through" 0
	cache_is "$n" "write through" 0
	fio_run sync-brd --filename="$DEV" "${FIO_VERIFY[@]}" --size=2M --sync=1 --fsync=4
	unmap "$DEV"

	nullb_wc_create
	cache_is nullb_wc "write back" 1
	map s_wc /dev/nullb_wc
	n=${DEV#/dev/}
	cache_is "$n" "write back" 1
	local f0
	f0=$(flushes nullb_wc)
	fio_run sync-fua --filename="$DEV" "${FIO_VERIFY[@]}" --size=2M --sync=1 --fsync=4
	fio_run fdatasync --filename="$DEV" --direct=1 --ioengine=psync --rw=randwrite --bs=4k \
		--size=1M --offset=8M --fdatasync=8 --verify=crc32c --verify_fatal=1 --do_verify=1
	[ "$(flushes "$n")" -gt 0 ] || fail "$n completed no flush"
	[ "$(flushes nullb_wc)" -gt "$f0" ] || fail "no flush reached nullb_wc (stat: $(cat /sys/block/nullb_wc/stat))"
	unmap "$DEV"

	echo "write through" > /sys/block/nullb_wc/queue/write_cache || fail "cannot disable the cache of nullb_wc"
	cache_is nullb_wc "write through" 1
	map s_wc /dev/nullb_wc
	cache_is "${DEV#/dev/}" "write through" 0
	unmap "$DEV"
	expect_clean
}

# Discard and write-zeroes on brd. brd frees the whole pages a discard covers and reads
# them back as zeroes (6.12: brd_do_discard); the partial pages at both ends keep their
# data. brd has no write-zeroes, so the rnbd disk has none and BLKZEROOUT writes zero pages.
register discard_write_zeroes 300 "$ALL_MODULES"
case_discard_write_zeroes() {
	map s_dz /dev/ram1
	local n=${DEV#/dev/}
	same_qattrs "$n" ram1 discard_max_bytes discard_max_hw_bytes discard_granularity write_zeroes_max_bytes
	[ "$(read_attr /sys/block/$n/discard_alignment)" = "$(read_attr /sys/block/ram1/discard_alignment)" ] \
		|| fail "discard_alignment differs from ram1"
	[ "$(qattr "$n" discard_granularity)" = 4096 ] || fail "discard_granularity is not brd's 4096"
	[ "$(qattr "$n" discard_max_bytes)" -gt 0 ] || fail "$n has no discard"
	[ "$(qattr "$n" write_zeroes_max_bytes)" = 0 ] || fail "$n has write-zeroes, brd has none"
	local pat=$CASE_DIR/pattern exp=$CASE_DIR/expected got=$CASE_DIR/got K=1024
	head -c $((1024 * K)) /dev/urandom > "$pat"
	dd if="$pat" of="$DEV" bs=64k oflag=direct status=none || fail "write the pattern"
	blkdiscard -f -o $((64 * K)) -l $((64 * K)) "$DEV" || fail "blkdiscard 64K@64K"
	# 8 KiB from 256K+512: only the page at 256K+4K is wholly inside.
	blkdiscard -f -o $((256 * K + 512)) -l $((8 * K)) "$DEV" || fail "blkdiscard 8K@256K+512"
	blkdiscard -f -z -o $((512 * K)) -l $((64 * K)) "$DEV" || fail "blkdiscard -z 64K@512K"
	blkdiscard -f -z -o $((768 * K + 512)) -l 1024 "$DEV" || fail "blkdiscard -z 1K@768K+512"
	cp "$pat" "$exp"
	zero_range "$exp" $((64 * K)) $((64 * K))
	zero_range "$exp" $((260 * K)) $((4 * K))
	zero_range "$exp" $((512 * K)) $((64 * K))
	zero_range "$exp" $((768 * K + 512)) 1024
	read_back "$DEV" 0 $((1024 * K)) "$got"
	same_bytes "$exp" "$got" 0 $((1024 * K)) "$DEV"
	read_back /dev/ram1 0 $((1024 * K)) "$got"
	same_bytes "$exp" "$got" 0 $((1024 * K)) "/dev/ram1 (the server's device)"
	unmap "$DEV"
	expect_clean
}

# A loop device over a tmpfs file (buffered, then direct IO): write cache and discard limits
# as the loop device has them, fio verify with fsync (flushes reach the loop device), then
# discard (punch hole) and write-zeroes, which the loop device supports, read back.
register loop_tmpfs_verify 600 "$ALL_MODULES"
case_loop_tmpfs_verify() {
	loop_setup 32M
	local l=${LOOP#/dev/} K=1024
	map s_loop "$LOOP"
	local n=${DEV#/dev/}
	same_qattrs "$n" "$l" write_cache discard_max_bytes discard_granularity write_zeroes_max_bytes
	cache_is "$n" "write back" 0
	[ "$(qattr "$n" write_zeroes_max_bytes)" -gt 0 ] || fail "$n has no write-zeroes"
	[ "$(blockdev --getsize64 "$DEV")" = $((32 * K * K)) ] || fail "$DEV is not 32 MiB"
	local f0
	f0=$(flushes "$l")
	fio_run loop-buffered --filename="$DEV" "${FIO_VERIFY[@]}" --size=8M --fsync=8
	[ "$(flushes "$l")" -gt "$f0" ] || fail "no flush reached $l"
	losetup --direct-io=on "$LOOP" || fail "losetup --direct-io=on"
	[ "$(read_attr /sys/block/$l/loop/dio)" = 1 ] || fail "$l does not use direct IO"
	fio_run loop-dio --filename="$DEV" "${FIO_VERIFY[@]}" --size=4M --offset=8M --fsync=8
	local pat=$CASE_DIR/pattern exp=$CASE_DIR/expected got=$CASE_DIR/got at=$((16 * K * K))
	head -c $((256 * K)) /dev/urandom > "$pat"
	dd if="$pat" of="$DEV" bs=64k seek=$((at / 65536)) oflag=direct status=none || fail "write the pattern"
	blkdiscard -f -o $((at + 64 * K)) -l $((64 * K)) "$DEV" || fail "blkdiscard"
	blkdiscard -f -z -o $((at + 192 * K)) -l $((32 * K)) "$DEV" || fail "blkdiscard -z"
	cp "$pat" "$exp"
	zero_range "$exp" $((64 * K)) $((64 * K))
	zero_range "$exp" $((192 * K)) $((32 * K))
	read_back "$DEV" $at $((256 * K)) "$got"
	same_bytes "$exp" "$got" 0 $((256 * K)) "$DEV"
	dd if=$SCRATCH/disk of="$got" bs=64k skip=$((at / 65536)) count=4 status=none || fail "read the file"
	same_bytes "$exp" "$got" 0 $((256 * K)) "the backing file"
	unmap "$DEV"
	expect_clean
}

# map_fails ERRNO SESS DEVICE_PATH [OPTION...]: map_device ends with ERRNO.
map_fails() {
	local e=$1 s=$2 p=$3; shift 3
	expect_write "$e" "$RNBD_CTL/map_device" "sessname=$s path=ip:$ADDR1 device_path=$p $*"
}
# modes_are SESS rnbdN MODE: access_mode on the client disk and in the server's session dir.
modes_are() {
	local srv=$RNBD_SRV_CTL/devices/ram${4:-0}/sessions/$1 ro=0
	[ "$3" = ro ] && ro=1
	[ "$(read_attr "/sys/block/$2/rnbd/access_mode")" = "$3" ] || fail "$2 access_mode is not $3"
	[ "$(read_attr "$srv/access_mode")" = "$3" ] || fail "$srv/access_mode is not $3"
	[ "$(read_attr "$srv/read_only")" = $ro ] || fail "$srv/read_only is not $ro"
}

# The access-mode rules of wire-protocol §14.5 step 6 across sessions: ro always, one rw,
# migration while there are fewer than two writers; same device twice in a session: EEXIST.
register access_modes 600 "$ALL_MODULES"
case_access_modes() {
	# ro + ro
	map s_a /dev/ram1 access_mode=ro; local a1=${DEV#/dev/}
	map s_b /dev/ram1 access_mode=ro; local b1=${DEV#/dev/}
	modes_are s_a "$a1" ro 1
	modes_are s_b "$b1" ro 1
	# one rw; a second rw is refused, in another session and under another path string
	map s_a /dev/ram0; local a0=${DEV#/dev/}
	modes_are s_a "$a0" rw
	map_fails EPERM s_b /dev/ram0
	map_fails EPERM s_b /dev/ram0 access_mode=rw
	# the same device_path twice in one session: the client refuses (EEXIST)
	map_fails EEXIST s_a /dev/ram0 access_mode=ro
	# the same device under another string in the same session: the write count comes
	# first (EPERM). (A ro open of it would find the session's directory there: the C
	# server then deadlocks on srv_dev->lock in the kobject release of its error path.)
	map_fails EPERM s_a //dev/ram0
	# migration beside the one rw; then two writers: no third, of either kind
	map s_b /dev/ram0 access_mode=migration; local b0=${DEV#/dev/}
	modes_are s_b "$b0" migration
	map_fails EPERM s_c /dev/ram0 access_mode=migration
	map_fails EPERM s_c /dev/ram0 access_mode=rw
	# ro is always allowed
	map s_c /dev/ram0 access_mode=ro; local c0=$DEV
	modes_are s_c "${c0#/dev/}" ro
	[ "$(ls $RNBD_SRV_CTL/devices/ram0/sessions | tr '\n' ' ')" = "s_a s_b s_c " ] \
		|| fail "ram0 sessions: $(ls $RNBD_SRV_CTL/devices/ram0/sessions | tr '\n' ' ')"
	# the rw one goes: one writer left, so one migration more is allowed, rw is not
	unmap /dev/"$a0"
	map_fails EPERM s_a /dev/ram0
	map s_a /dev/ram0 access_mode=migration; a0=${DEV#/dev/}
	modes_are s_a "$a0" migration
	unmap /dev/"$a0"
	unmap /dev/"$b0"
	# no writer: rw again
	map s_b /dev/ram0; b0=${DEV#/dev/}
	modes_are s_b "$b0" rw
	dd if=/dev/zero of="$DEV" bs=4k count=4 oflag=direct status=none || fail "write to rw $DEV"
	unmap /dev/"$b0"
	unmap "$c0"
	unmap /dev/"$a1"
	unmap /dev/"$b1"
	expect_clean
}

# The server's device grows (loop over a tmpfs file); the client keeps its size until the
# new size is written to rnbd/resize (C sends nothing to the server), then IO reaches the
# new end. resize takes kstrtoul input (0x hex, leading-0 octal).
register resize_seen 300 "$ALL_MODULES"
case_resize_seen() {
	loop_setup 16M
	local M=$((1024 * 1024))
	map s_rsz "$LOOP"
	local r=/sys/block/${DEV#/dev/}/rnbd/resize
	[ "$(blockdev --getsize64 "$DEV")" = $((16 * M)) ] || fail "$DEV is not 16 MiB"
	truncate -s 32M $SCRATCH/disk && losetup -c "$LOOP" || fail "growing $LOOP"
	[ "$(blockdev --getsize64 "$LOOP")" = $((32 * M)) ] || fail "$LOOP did not grow"
	[ "$(blockdev --getsize64 "$DEV")" = $((16 * M)) ] || fail "$DEV changed size by itself"
	local bad
	for bad in "" abc -1 12x 1.5 "1 2"; do expect_write EINVAL $r "$bad"; done
	expect_write ERANGE $r 18446744073709551616
	[ "$(blockdev --getsize64 "$DEV")" = $((16 * M)) ] || fail "a bad resize changed the size"
	expect_write OK $r 0x10000
	[ "$(blockdev --getsize64 "$DEV")" = $((32 * M)) ] || fail "resize 0x10000: $(blockdev --getsize64 "$DEV") bytes"
	expect_write OK $r 0100000
	[ "$(blockdev --getsize64 "$DEV")" = $((16 * M)) ] || fail "resize 0100000 (octal): $(blockdev --getsize64 "$DEV") bytes"
	expect_write OK $r 65536
	[ "$(blockdev --getsize64 "$DEV")" = $((32 * M)) ] || fail "resize 65536: $(blockdev --getsize64 "$DEV") bytes"
	local pat=$CASE_DIR/pattern got=$CASE_DIR/got
	head -c $M /dev/urandom > "$pat"
	dd if="$pat" of="$DEV" bs=64k seek=$((31 * 16)) oflag=direct status=none || fail "write the last MiB"
	read_back "$LOOP" $((31 * M)) $M "$got"
	same_bytes "$pat" "$got" 0 $M "the last MiB of $LOOP"
	unmap "$DEV"
	expect_clean
}

# A force unmap under fio (libaio, 32 in flight): fio ends with errors, the session closes
# (every permit came back: each request completed), nothing is left and rnbd_client unloads.
# A second mapping keeps the session until fio has closed the disk: in C, when fio's close
# drops the session's last device, rtrs_clt_close flushes close_work under the disk's
# open_mutex, which lockdep reports as a circular dependency (through dev->lock taken by
# link_ev) once a reconnect has run earlier in the boot (server_restart).
register unmap_force_io 300 "$ALL_MODULES"
case_unmap_force_io() {
	map s_force /dev/ram1
	local keep=$DEV
	map s_force /dev/ram0
	local n=${DEV#/dev/}
	fio_load force "$DEV" 20 --iodepth=32
	local pid=$FIO_PID
	kill -0 $pid || fail "fio ended before the unmap: $(cat "$CASE_DIR/fio-force.log")"
	expect_write OK "/sys/block/$n/rnbd/unmap_device" force
	wait_until 10 test ! -e "/sys/block/$n" || fail "/sys/block/$n stays after the force unmap"
	wait_until 30 eval '! kill -0 $pid 2>/dev/null' || fail "fio still runs 30 s after the force unmap"
	local rc=0
	wait $pid || rc=$?
	[ $rc != 0 ] || fail "fio saw no error although $DEV went away under it"
	unmap "$keep"
	expect_clean
	wait_until 20 test "$(cat /sys/module/rnbd_client/refcnt)" = 0 \
		|| fail "rnbd_client refcount stays $(cat /sys/module/rnbd_client/refcnt)"
	rmmod rnbd_client || fail "rmmod rnbd_client"
	load_modules
}

# device_path with ".." anywhere is refused (EINVAL) before the server opens anything;
# with dev_search_path=/dev names are resolved under it and ".." still cannot leave it.
register dev_path_escape 300 "$ALL_MODULES"
case_dev_path_escape() {
	local p
	for p in ../dev/ram0 /dev/../dev/ram0 /dev/ram0/.. /dev/ram0.. /..; do
		map_fails EINVAL s_esc "$p"
	done
	map_fails ENOENT s_esc /dev/ram0.
	expect_clean
	trap 'rmmod rnbd_server; load_modules' EXIT
	rmmod rnbd_server || fail "rmmod rnbd_server"
	insmod "$(ko_path rnbd_server)" dev_search_path=/dev || fail "insmod rnbd_server dev_search_path=/dev"
	[ "$(cat /sys/module/rnbd_server/parameters/dev_search_path)" = /dev ] || fail "dev_search_path is not /dev"
	map s_esc ram0; local d0=$DEV
	[ "$(read_attr $RNBD_SRV_CTL/devices/ram0/sessions/s_esc/mapping_path)" = ram0 ] \
		|| fail "server mapping_path is not ram0"
	map s_esc /ram1; local d1=$DEV
	[ -d $RNBD_SRV_CTL/devices/ram1/sessions/s_esc ] || fail "/ram1 under /dev did not open ram1"
	map_fails EINVAL s_esc ../dev/ram1 access_mode=ro
	map_fails EINVAL s_esc "ram0/../ram1" access_mode=ro
	map_fails ENOENT s_esc dev/ram0
	unmap "$d1"
	unmap "$d0"
	expect_clean
}

# A regular file under dev_search_path is served like a block device (the Rust server);
# the data lands in the file.
register regular_file_export 300 "$ALL_MODULES" "C rnbd_server opens block devices only (bdev_file_open_by_path: ENOTBLK)" rnbd_server
case_regular_file_export() {
	scratch_mount
	trap scratch_cleanup EXIT
	local M=$((1024 * 1024))
	truncate -s 8M $SCRATCH/disk || fail "truncate"
	map s_file $SCRATCH/disk
	[ "$(blockdev --getsize64 "$DEV")" = $((8 * M)) ] || fail "$DEV is not 8 MiB"
	# tmpfs takes O_DIRECT: the file is not served through the page cache.
	! dmesg | grep -q "no direct IO on this file system" || fail "the file is served through the page cache"
	fio_run file --filename="$DEV" "${FIO_VERIFY[@]}" --size=4M --fsync=16
	local pat=$CASE_DIR/pattern got=$CASE_DIR/got
	head -c $M /dev/urandom > "$pat"
	dd if="$pat" of="$DEV" bs=64k seek=$((7 * 16)) oflag=direct status=none || fail "write the last MiB"
	dd if=$SCRATCH/disk of="$got" bs=64k skip=$((7 * 16)) count=16 status=none || fail "read the file"
	same_bytes "$pat" "$got" 0 $M "the last MiB of the file"
	unmap "$DEV"
	expect_clean
}

# nr_poll_queues: the disk has one hardware queue per online CPU plus the poll queues and
# polls (queue/io_poll); polled O_DIRECT IO (pvsync2 with RWF_HIPRI, completed only by
# polling the poll connections) verifies. remap_device: EALREADY on an open device; with
# every path disconnected the device is closed and a remap fails as the request does
# (ECONNABORTED); after a reconnect it is open again.
register poll_queues_remap 300 "$ALL_MODULES"
case_poll_queues_remap() {
	map s_poll /dev/ram0 "path=ip:$ADDR1 path=ip:$ADDR2 nr_poll_queues=1"
	local n=${DEV#/dev/} s=/sys/class/rtrs-client/s_poll
	[ "$(read_attr /sys/block/$n/rnbd/nr_poll_queues)" = 1 ] || fail "nr_poll_queues reads '$(cat /sys/block/$n/rnbd/nr_poll_queues)'"
	local hw
	hw=$(ls -d /sys/block/$n/mq/[0-9]* | wc -l)
	[ "$hw" = $(($(nproc) + 1)) ] || fail "$n has $hw hardware queues, expected $(nproc) + 1 poll queue"
	[ "$(qattr "$n" io_poll)" = 1 ] || fail "$n: queue/io_poll reads '$(qattr "$n" io_poll)'"
	fio_run polled --filename="$DEV" --direct=1 --ioengine=pvsync2 --hipri=1 --rw=randwrite --bs=4k \
		--size=4M --verify=crc32c --verify_fatal=1 --do_verify=1 --exitall_on_error=1
	local r=/sys/block/$n/rnbd/remap_device
	expect_write EINVAL $r 2
	expect_write EALREADY $r 1
	local p
	for p in $s/paths/*; do expect_write OK "$p/disconnect" 1; done
	wait_until 20 dev_state_is $n closed || fail "$n state is '$(cat /sys/block/$n/rnbd/state)' with every path disconnected"
	expect_write ECONNABORTED $r 1
	p=$(path_dir s_poll "$ADDR1") || fail "no client path to $ADDR1"
	expect_write OK "$p/reconnect" 1
	wait_until 30 dev_state_is $n open || fail "$n not open after a reconnect: '$(cat /sys/block/$n/rnbd/state)'"
	expect_write EALREADY $r 1
	dd if="$DEV" of=/dev/null bs=64k count=16 iflag=direct status=none || fail "read from $DEV after the remap"
	unmap "$DEV"
	expect_clean
}
