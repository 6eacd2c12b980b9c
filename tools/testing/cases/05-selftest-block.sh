# SPDX-License-Identifier: GPL-2.0-or-later
# Self-test of rust/block. The bio test writes and reads /dev/ram1 (brd) and the test disk
# through bios. Loading rnbd_rs_selftest creates the memory-backed blk-mq disk
# rnbd_rs_st0 (2 default + 1 poll hardware queue, 16 MiB), which this case drives from user
# space: dd, fio crc32c verification with O_DIRECT and with polled io_uring, discard and
# write zeroes, the queue limits the module set, the capacity change, geometry; rmmod
# removes the disk.

# blockdev_getgeo DEV: "heads sectors cylinders" through HDIO_GETGEO.
blockdev_getgeo() {
	python3 -c 'import fcntl, struct, sys
with open(sys.argv[1], "rb") as f:
    h, s, c, _ = struct.unpack("BBHL", fcntl.ioctl(f, 0x0301, bytes(16)))
print(h, s, c)' "$1"
}

# check_queue ATTR VALUE: /sys/block/rnbd_rs_st0/queue/ATTR reads VALUE.
check_queue() {
	local v
	v=$(read_attr "/sys/block/rnbd_rs_st0/queue/$1")
	[ "$v" = "$2" ] || fail "queue/$1 is '$v', expected '$2'"
	log "queue/$1 = $v"
}

selftest_wanted && register selftest_block 300 ""
case_selftest_block() {
	local d=rnbd_rs_st0 dev=/dev/rnbd_rs_st0
	selftest_load
	# Bios over brd, then over the test disk (which supports write zeroes and secure erase).
	selftest_run block /dev/ram1
	wait_until 10 test -b /dev/rnbd_rs_st0 || fail "no /dev/rnbd_rs_st0"
	selftest_run block /dev/rnbd_rs_st0
	dmesg | grep 'rnbd_rs_selftest: block:' | sed 's/^\[[^]]*\] //' | tee "$CASE_DIR/selftest.log"
	[ "$(grep -c 'block: bio test passed' "$CASE_DIR/selftest.log")" = 2 ] || fail "bio test did not pass twice"

	# The disk and its number.
	wait_until 10 test -b $dev || fail "no $dev"
	local maj
	maj=$(awk '$2 == "rnbd_rs_st" { print $1 }' /proc/devices)
	[ -n "$maj" ] || fail "no 'rnbd_rs_st' block major in /proc/devices"
	[ "$(read_attr /sys/block/$d/dev)" = "$maj:0" ] || fail "$d is $(cat /sys/block/$d/dev), expected $maj:0"
	[ "$(ls /sys/block/$d/mq | wc -l)" = 3 ] || fail "$d has hardware queues: $(ls /sys/block/$d/mq | tr '\n' ' ')"

	# Capacity: created at 12 MiB, grown to 16 MiB by set_capacity_and_notify.
	[ "$(read_attr /sys/block/$d/size)" = 32768 ] || fail "size is $(cat /sys/block/$d/size), expected 32768"
	dmesg | grep -q "$d: detected capacity change from 24576 to 32768" || fail "no capacity change message"
	[ "$(blockdev --getsize64 $dev)" = 16777216 ] || fail "getsize64 is $(blockdev --getsize64 $dev)"
	log "capacity 24576 -> 32768 sectors seen"

	# Queue limits as the module set them.
	check_queue logical_block_size 512
	check_queue physical_block_size 4096
	check_queue max_hw_sectors_kb 128
	check_queue max_segments 32
	check_queue max_segment_size 65536
	check_queue discard_granularity 4096
	check_queue discard_max_hw_bytes 1048576
	check_queue write_zeroes_max_bytes 1048576
	check_queue write_cache "write back"
	check_queue fua 1
	check_queue rotational 0
	check_queue io_poll 1

	# Geometry through block_device_operations.getgeo.
	if command -v python3 >/dev/null; then
		local geo
		geo=$(blockdev_getgeo $dev) || fail "HDIO_GETGEO failed"
		[ "$geo" = "64 32 16" ] || fail "geometry '$geo', expected '64 32 16'"
		log "geometry $geo"
	fi

	# dd: buffered and O_DIRECT, read back and compared.
	local pat=$CASE_DIR/pattern
	dd if=/dev/urandom of="$pat" bs=64k count=16 status=none
	dd if="$pat" of=$dev bs=64k seek=3 oflag=direct conv=fsync status=none || fail "dd write direct"
	cmp -n 1048576 "$pat" <(dd if=$dev bs=64k skip=3 count=16 iflag=direct status=none) || fail "O_DIRECT read-back differs"
	dd if="$pat" of=$dev bs=4k seek=1000 conv=fsync status=none || fail "dd write buffered"
	echo 3 > /proc/sys/vm/drop_caches
	cmp -n 1048576 "$pat" <(dd if=$dev bs=4k skip=1000 count=256 status=none) || fail "buffered read-back differs"
	dd if="$pat" of=$dev bs=64k seek=128 oflag=direct,dsync status=none || fail "dd write O_DSYNC"
	cmp -n 1048576 "$pat" <(dd if=$dev bs=64k skip=128 count=16 iflag=direct status=none) || fail "O_DSYNC read-back differs"
	log "dd buffered, O_DIRECT and O_DIRECT|O_DSYNC (FUA) read back"

	# Discard and write zeroes zero the range.
	dd if="$pat" of=$dev bs=64k seek=64 oflag=direct status=none || fail "dd before discard"
	blkdiscard -o $((64 * 65536)) -l 1048576 $dev || fail "blkdiscard"
	cmp -n 1048576 /dev/zero <(dd if=$dev bs=64k skip=64 count=16 iflag=direct status=none) || fail "not zero after discard"
	dd if="$pat" of=$dev bs=64k seek=64 oflag=direct status=none || fail "dd before write zeroes"
	blkdiscard -z -o $((64 * 65536)) -l 1048576 $dev || fail "blkdiscard -z"
	cmp -n 1048576 /dev/zero <(dd if=$dev bs=64k skip=64 count=16 iflag=direct status=none) || fail "not zero after write zeroes"
	log "discard and write zeroes read back zeros"

	# fio crc32c verification: libaio O_DIRECT on the default queues, then polled io_uring.
	fio_run verify "${FIO_VERIFY[@]}" --filename=$dev --numjobs=2 --offset_increment=8M --size=8M
	fio_run verify_bs "${FIO_VERIFY[@]}" --filename=$dev --size=16M --bsrange=512-128k
	fio_run hipri --filename=$dev --direct=1 --ioengine=io_uring --hipri=1 --rw=randwrite --bs=4k \
		--iodepth=8 --size=8M --verify=crc32c --verify_fatal=1 --do_verify=1 --exitall_on_error=1
	log "fio verify (libaio, mixed sizes, io_uring hipri) passed"

	selftest_unload
	[ ! -e /sys/block/$d ] || fail "$d stays after rmmod"
	! awk '{ print $2 }' /proc/devices | grep -qx rnbd_rs_st || fail "major stays after rmmod"
	local bye
	bye=$(dmesg | grep "block: removing $d" | tail -1)
	log "$bye"
	[[ "$bye" =~ ([0-9]+)\ polled ]] && [ "${BASH_REMATCH[1]}" -gt 0 ] || fail "no request went through poll: $bye"
	[[ "$bye" =~ ([0-9]+)\ flushes ]] && [ "${BASH_REMATCH[1]}" -gt 0 ] || fail "no flush reached the driver: $bye"
	[[ "$bye" =~ ([0-9]+)\ FUA ]] && [ "${BASH_REMATCH[1]}" -gt 0 ] || fail "no FUA write reached the driver: $bye"
	[[ "$bye" =~ ([0-9]+)\ requeued ]] && [ "${BASH_REMATCH[1]}" -gt 0 ] || fail "no request was requeued: $bye"
}
