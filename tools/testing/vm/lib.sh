# SPDX-License-Identifier: GPL-2.0-or-later
# Helpers for the guest side of the VM suite (sourced by guest.sh and by every case).

RNBD_CTL=/sys/devices/virtual/rnbd-client/ctl
RNBD_SRV_CTL=/sys/class/rnbd-server/ctl

# Lines that fail a case (or a benchmark block) when they appear in dmesg during it.
BAD_DMESG='BUG:|WARNING:|kernel BUG at|Oops|general protection fault|KASAN|possible recursive locking|possible circular locking|suspicious RCU usage|inconsistent lock state|list_add corruption|list_del corruption|list corruption|blocked for more than|refcount_t:|Internal error|UBSAN'

log() { printf '%s\n' "$*"; }
# Ends the current case with a failure and the reason.
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

# Turns the strerror() text of a failed write into the errno name.
errno_name() {
	case "$1" in
	*"Invalid argument"*) echo EINVAL ;;
	*"File exists"*) echo EEXIST ;;
	*"No such file or directory"*) echo ENOENT ;;
	*"No such device or address"*) echo ENXIO ;;
	*"No such device"*) echo ENODEV ;;
	*"Block device required"*) echo ENOTBLK ;;
	*"Cannot allocate memory"*) echo ENOMEM ;;
	*"Protocol not supported"*) echo EPROTONOSUPPORT ;;
	*"Operation not supported"*) echo EOPNOTSUPP ;;
	*"Operation not permitted"*) echo EPERM ;;
	*"Device or resource busy"*) echo EBUSY ;;
	*"Numerical result out of range"*) echo ERANGE ;;
	*"Connection reset by peer"*) echo ECONNRESET ;;
	*"Connection refused"*) echo ECONNREFUSED ;;
	*"Connection timed out"*) echo ETIMEDOUT ;;
	*"Software caused connection abort"*) echo ECONNABORTED ;;
	*"No route to host"*) echo EHOSTUNREACH ;;
	*"Operation already in progress"*) echo EALREADY ;;
	*"Transport endpoint is not connected"*) echo ENOTCONN ;;
	*) echo "E?($1)" ;;
	esac
}

# sysfs_write FILE STRING: writes STRING plus a newline in one write(2), as echo does.
# Sets WRITE_RESULT to OK or to the errno name.
sysfs_write() {
	local out
	if out=$( { printf '%s\n' "$2" > "$1"; } 2>&1 ); then
		WRITE_RESULT=OK
	else
		WRITE_RESULT=$(errno_name "$out")
	fi
}

# expect_write ERRNO|OK FILE STRING: the write must end as expected.
expect_write() {
	sysfs_write "$2" "$3"
	[ "$WRITE_RESULT" = "$1" ] || fail "write '$3' > $2: got $WRITE_RESULT, expected $1"
}

# wait_until SECONDS CMD...: polls CMD every 0.2 s until it succeeds.
wait_until() {
	local deadline=$(( $(date +%s) + $1 )); shift
	until "$@"; do
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

# rnbd_of SESSNAME DEVICE_PATH: prints rnbdN of that mapping, or nothing.
rnbd_of() {
	local d
	for d in /sys/block/rnbd*/rnbd; do
		[ -d "$d" ] || continue
		[ "$(cat "$d/session")" = "$1" ] && [ "$(cat "$d/mapping_path")" = "$2" ] \
			&& { basename "$(dirname "$d")"; return 0; }
	done
	return 1
}

# map SESSNAME DEVICE_PATH [OPTION...]: maps over the first path unless a path= is given.
# Sets DEV to /dev/rnbdN.
map() {
	local sess=$1 devpath=$2; shift 2
	local opts="$*"
	case " $opts " in *" path="*) ;; *) opts="path=ip:$ADDR1 $opts" ;; esac
	expect_write OK "$RNBD_CTL/map_device" "sessname=$sess device_path=$devpath $opts"
	local n
	n=$(rnbd_of "$sess" "$devpath") || fail "map $sess $devpath: no /sys/block/rnbd*/rnbd for it"
	DEV=/dev/$n
	wait_until 10 test -b "$DEV" || fail "map $sess $devpath: $DEV did not appear"
}

# unmap /dev/rnbdN [normal|force]
unmap() {
	local n=${1#/dev/}
	expect_write OK "/sys/block/$n/rnbd/unmap_device" "${2:-normal}"
	wait_until 10 test ! -e "/sys/block/$n" || fail "unmap $1: /sys/block/$n still there"
}

# Leftovers in the sysfs trees of the four classes, one per line (empty when clean).
leftovers() {
	local p
	for p in /sys/block/rnbd* /sys/class/rtrs-client/* /sys/class/rtrs-server/* \
		"$RNBD_SRV_CTL"/devices/* "$RNBD_CTL"/devices/*; do
		[ -e "$p" ] || [ -L "$p" ] && echo "$p"
	done
}
no_leftovers() { [ -z "$(leftovers)" ]; }

# Waits for the server to drop its sessions after the client went away.
expect_clean() {
	wait_until 20 no_leftovers || fail "left behind: $(leftovers | tr '\n' ' ')"
}

# Unmaps everything (force) so the next case starts from a clean state.
unmap_all() {
	local d
	for d in /sys/block/rnbd*/rnbd/unmap_device; do
		[ -e "$d" ] && { printf 'force\n' > "$d"; } 2>/dev/null
	done
	return 0
}

# fio_run NAME ARGS...: runs fio with the output kept in the case folder.
fio_run() {
	local name=$1; shift
	fio --name="$name" --output="$CASE_DIR/fio-$name.log" "$@" \
		|| fail "fio $name failed (see fio-$name.log): $(grep -m3 -iE 'err|verify' "$CASE_DIR/fio-$name.log" | tr '\n' ' ')"
}

# fio_load NAME DEV RUNTIME [ARGS...]: a 4 KiB random read/write load (iodepth 16, 32 MiB)
# on DEV in the background for RUNTIME s (ARGS add or override options), output in
# fio-NAME.log; sets FIO_PID, and an EXIT trap that stops it, and returns once DEV has done
# 200 IOs (fails if not within 60 s).
fio_load() {
	local name=$1 dev=$2 runtime=$3
	shift 3
	fio --name="$name" --output="$CASE_DIR/fio-$name.log" --filename="$dev" --direct=1 \
		--ioengine=libaio --iodepth=16 --rw=randrw --bs=4k --size=32M --time_based \
		--runtime="$runtime" "$@" &
	FIO_PID=$!
	trap 'kill $FIO_PID 2>/dev/null && wait $FIO_PID' EXIT
	wait_until 60 eval '[ "$(awk "{ print \$1 + \$5 }" /sys/block/'"${dev#/dev/}"'/stat)" -gt 200 ]' \
		|| fail "fio did no IO on $dev in 60 s"
}

# The crc32c write-then-verify job of the suite on DEV; extra fio options may follow.
FIO_VERIFY=(--direct=1 --ioengine=libaio --rw=randwrite --bs=4k --iodepth=16
	--verify=crc32c --verify_fatal=1 --do_verify=1 --exitall_on_error=1)

# start_fio_verify SECONDS: time-based crc32c write+verify on DEV in the background, for at
# most SECONDS; stop_fio_verify ends it once the case has done what it runs under IO (every
# 256 writes are read back and checked while it runs). When the case ends early, fio is
# stopped with it: left running, it would reopen DEV after the clean-up unmapped it and
# create a regular file there, which breaks every later case.
start_fio_verify() {
	fio --name=mpath --output="$CASE_DIR/fio-mpath.log" --filename="$DEV" "${FIO_VERIFY[@]}" \
		--size=32M --time_based --runtime="$1" --verify_backlog=256 &
	FIO_PID=$!
	trap 'kill $FIO_PID 2>/dev/null && wait $FIO_PID' EXIT
	# fio can take a while to start under TCG: the case begins once writes complete.
	wait_until 120 eval '[ "$(awk "{ print \$5 }" /sys/block/${DEV#/dev/}/stat)" -gt 0 ]' \
		|| fail "fio wrote nothing in 120 s: $(cat "$CASE_DIR/fio-mpath.log")"
	kill -0 $FIO_PID 2>/dev/null || fail "fio did not start: $(cat "$CASE_DIR/fio-mpath.log")"
}
# stop_fio_verify: fio ends its run early (SIGINT: it stops issuing, completes what is in
# flight, reports, and exits with 128), then the verdict as wait_fio_verify. Fails if fio
# had already ended.
stop_fio_verify() {
	kill -0 $FIO_PID 2>/dev/null || fail "fio ended before the case was done: $(tail -3 "$CASE_DIR/fio-mpath.log")"
	kill -INT $FIO_PID
	local rc=0
	wait $FIO_PID || rc=$?
	[ $rc = 0 ] || { [ $rc = 128 ] && grep -q "terminating on signal 2" "$CASE_DIR/fio-mpath.log"; } \
		|| fail "fio verify failed (exit $rc): $(grep -m3 -iE 'err|verify' "$CASE_DIR/fio-mpath.log" | tr '\n' ' ')"
	fio_verdict
}
wait_fio_verify() {
	wait $FIO_PID || fail "fio verify failed: $(grep -m3 -iE 'err|verify' "$CASE_DIR/fio-mpath.log" | tr '\n' ' ')"
	fio_verdict
}
# fio_verdict: fio's report says no error and that it read back (verified) what it wrote.
fio_verdict() {
	grep -q "err= 0" "$CASE_DIR/fio-mpath.log" || fail "fio reports errors"
	local reads
	reads=$(sed -n 's/.*issued rwts: total=\([0-9]*\),.*/\1/p' "$CASE_DIR/fio-mpath.log")
	[ "${reads:-0}" -gt 0 ] || fail "fio verified nothing: $(grep -m1 'issued rwts' "$CASE_DIR/fio-mpath.log")"
}
path_dir() { ls -d /sys/class/rtrs-client/$1/paths/*@ip:$2; }
path_connected() { [ "$(cat "$1/state")" = connected ]; }
# await_reconnect PATH: waits (90 s at most) until the client path PATH is connected again
# after the server went away. Our client must reconnect by itself, after RNBD's reconnect
# delay (30 s plus up to 8 s, as C). The C client's delay is not under test, so with the C
# rtrs_client the wait is cut short through sysfs: a write to reconnect runs the pending
# reconnect at once (and fails while the server is still away).
await_reconnect() {
	if [ "$(impl_of rtrs_client)" = c ]; then
		wait_until 90 reconnect_now "$1"
	else
		wait_until 90 path_connected "$1"
	fi
}
reconnect_now() { path_connected "$1" || { echo 1 > "$1/reconnect"; } 2>/dev/null; path_connected "$1"; }

# Reads a file that must exist.
read_attr() { [ -e "$1" ] || fail "missing $1"; cat "$1"; }

## Module sets. Each of the four modules is loaded from the Rust build (REPO/<name>.ko) or
## from the test kernel's C modules, always with insmod in dependency order: the Rust and C
## modules share their names, so modprobe could pull in the wrong twin. rtrs_server gets the
## parameters of RTRS_SRV_PARAMS (e.g. "always_invalidate=N"), whichever implementation.

MODULES=(rtrs_client rtrs_server rnbd_client rnbd_server)
# The two-guest topology (vm/pair.sh, SUITE=pair): the client guest loads the client
# modules, the server guest (vm/peer.sh, PAIR_ROLE=server) the server ones.
[ "${SUITE:-}" != pair ] || PAIR_ROLE=${PAIR_ROLE:-client}
case "${PAIR_ROLE:-}" in
client) MODULES=(rtrs_client rnbd_client) ;;
server) MODULES=(rtrs_server rnbd_server) ;;
esac

impl_of() { local v=${1^^}; echo "${!v}"; }

ko_path() {
	if [ "$(impl_of "$1")" = rust ]; then echo "$REPO/$1.ko"; else modinfo -n "$1"; fi
}

load_modules() {
	modprobe -a ib_core rdma_cm || fail "modprobe ib_core rdma_cm"
	# rtrs_core: under a C RTRS module, and under the C rnbd_client, which takes
	# rtrs_addr_to_sockaddr from it (the Rust RTRS modules do not export rtrs_core's symbols).
	local m need_core=0
	for m in "${MODULES[@]}"; do
		[ $m = rnbd_server ] || [ "$(impl_of $m)" != c ] || need_core=1
	done
	if [ $need_core = 1 ] && [ ! -d /sys/module/rtrs_core ]; then
		insmod "$(modinfo -n rtrs_core)" || fail "insmod rtrs_core"
	fi
	for m in "${MODULES[@]}"; do
		[ -d "/sys/module/$m" ] && continue
		local params=()
		[ "$m" = rtrs_server ] && read -ra params <<< "${RTRS_SRV_PARAMS:-}"
		insmod "$(ko_path "$m")" "${params[@]}" \
			|| fail "insmod $m ($(impl_of "$m")) from $(ko_path "$m") ${params[*]}"
	done
}

unload_modules() {
	local m
	for m in rnbd_client rnbd_server rtrs_client rtrs_server rtrs_core; do
		[ -d "/sys/module/$m" ] || continue
		wait_until 20 test "$(cat /sys/module/$m/refcnt)" = 0 \
			|| fail "rmmod $m: refcount stays $(cat /sys/module/$m/refcnt)"
		rmmod "$m" || fail "rmmod $m"
	done
}

# The Rust modules in use that do not do their job yet, as the XFAIL tag of the issue that
# implements them (tools/testing/rust-status); rnbd-level tags win since rnbd needs rtrs.
pending_tag() {
	local m tag=
	for m in "$@"; do
		[ "$(impl_of "$m")" = rust ] || continue
		local st
		st=$(awk -v m="$m" '$1 == m { print $2 }' "$REPO/tools/testing/rust-status")
		case "$st" in XFAIL*) [ -z "$tag" ] || [[ "$st" = *rnbd* ]] && tag=$st ;; esac
	done
	echo "$tag"
}

## Case registry. Each case file registers its cases; guest.sh runs them in this order.
CASE_ORDER=()
declare -A CASE_TIMEOUT=() CASE_USES=() CASE_C_XFAIL=() CASE_C_XFAIL_BY=()
# register NAME TIMEOUT_SECONDS "MODULES IT NEEDS" ["reason the C modules fail it"
#          ["the C modules that fail it", default: all it needs]]
# The reason makes the case an expected failure when every module it names is the C one.
register() {
	CASE_ORDER+=("$1")
	CASE_TIMEOUT[$1]=$2
	CASE_USES[$1]=$3
	[ -n "${4:-}" ] && CASE_C_XFAIL[$1]=$4 && CASE_C_XFAIL_BY[$1]=${5:-$3}
	return 0
}
ALL_MODULES="rtrs_client rtrs_server rnbd_client rnbd_server"

## Soft-RDMA. rxe: the guest NIC carries path 1 (rxe0), a dummy NIC gives path 2 its own
## link and address (rxe1); rxe delivers traffic to a local address internally, so client
## and server share the guest and nothing leaves it. siw cannot carry RTRS (no RDMA WRITE
## with immediate data): only the case iwarp_refused brings it up (siw_up, siw_down).
## start_soft_rdma KIND...: sets up each KIND (rxe) once; exports NIC, and for each KIND
## its two server addresses as RXE_ADDRS ("ADDR1 ADDR2").
start_soft_rdma() {
	local n nic= kind
	for n in /sys/class/net/*; do
		n=${n##*/}
		# A NIC backed by a (virtio) device, not lo or the dummy.
		[ -e /sys/class/net/$n/device ] || continue
		[ "$(cat /sys/class/net/$n/type)" = 1 ] && [ "$(cat /sys/class/net/$n/addr_len)" = 6 ] || continue
		nic=$n; break
	done
	[ -n "$nic" ] || { echo "no Ethernet NIC in the guest" >&2; return 1; }
	ip link set "$nic" up || return 1
	NIC=$nic
	if [ -n "${PAIR_ROLE:-}" ]; then
		pair_links "$PAIR_ROLE" || return 1
		export NIC RXE_ADDRS NIC_A NIC_B
		return 0
	fi
	for kind in "$@"; do
		case "$kind" in
		rxe) [ -n "${RXE_ADDRS:-}" ] || rxe_links || return 1 ;;
		*) echo "unknown soft-RDMA '$kind'" >&2; return 1 ;;
		esac
	done
	rdma link show
	export NIC RXE_ADDRS
}

# use_soft_rdma KIND: ADDR1 and ADDR2 of KIND (set up by start_soft_rdma) for the cases.
use_soft_rdma() {
	local a
	case "$1" in rxe) a=${RXE_ADDRS:-} ;; esac
	[ -n "$a" ] || { echo "soft-RDMA '$1' is not set up" >&2; return 1; }
	read -r ADDR1 ADDR2 <<<"$a"
	export ADDR1 ADDR2
}

rxe_links() {
	local a1 a2=10.0.3.15
	a1=$(ip -4 -o addr show dev "$NIC" | awk '{ sub(/\/.*/, "", $4); print $4; exit }')
	if [ -z "$a1" ]; then
		a1=10.0.2.15
		ip addr add "$a1/24" dev "$NIC" || return 1
	fi
	{ [ -e /sys/class/net/dummy0 ] || ip link add dummy0 type dummy; } && ip addr add "$a2/24" dev dummy0 \
		&& ip link set dummy0 up || { echo "dummy0 set-up failed" >&2; return 1; }
	modprobe rdma_rxe || return 1
	rdma link add rxe0 type rxe netdev "$NIC" || return 1
	rdma link add rxe1 type rxe netdev dummy0 || return 1
	RXE_ADDRS="$a1 $a2"
}

# pair_links ROLE: the two-guest topology's links (vm/pair.sh): the NICs of net A and net
# B, found by their MAC addresses (52:54:00:77:0N:01 client, :02 server), get 10.77.N.1
# (client) or 10.77.N.2 (server) and rxe0 and rxe1. Sets NIC_A and NIC_B, and RXE_ADDRS to
# the server's two addresses. The client waits (5 minutes at most) until the server
# guest's peer.sh is ready.
pair_links() {
	local role=$1 n mac net me=1 nics=()
	[ "$role" = server ] && me=2
	for net in 1 2; do
		mac=52:54:00:77:0$net:0$me
		nics[net]=
		for n in /sys/class/net/*; do
			[ "$(cat "$n/address")" = $mac ] && nics[net]=${n##*/}
		done
		[ -n "${nics[net]}" ] || { echo "no NIC with MAC $mac (net $net)" >&2; return 1; }
		ip addr add 10.77.$net.$me/24 dev "${nics[net]}" && ip link set "${nics[net]}" up || return 1
	done
	NIC_A=${nics[1]} NIC_B=${nics[2]}
	modprobe rdma_rxe && rdma link add rxe0 type rxe netdev "$NIC_A" \
		&& rdma link add rxe1 type rxe netdev "$NIC_B" || return 1
	RXE_ADDRS="10.77.1.2 10.77.2.2"
	[ "$role" = server ] || wait_until 300 test -e "$PEER_DIR/ready" \
		|| { echo "the server guest is not ready after 5 minutes" >&2; return 1; }
}

# peer CMD: runs the shell command CMD on the server guest (two-guest topology) with the
# harness's functions; prints its output and returns its exit status (125: no answer in
# 120 s). The client writes PEER_DIR/cmd.N, peer.sh answers with out.N and rc.N.
PEER_DIR=${RESULTS:-}/peer
peer() {
	local n
	n=$(( $(cat "$PEER_DIR/seq" 2>/dev/null || echo 0) + 1 ))
	echo $n > "$PEER_DIR/seq"
	printf '%s\n' "$*" > "$PEER_DIR/cmd.$n.tmp" && mv "$PEER_DIR/cmd.$n.tmp" "$PEER_DIR/cmd.$n"
	wait_until 120 test -e "$PEER_DIR/rc.$n" || { echo "peer: no answer to '$*' in 120 s" >&2; return 125; }
	cat "$PEER_DIR/out.$n"
	return "$(cat "$PEER_DIR/rc.$n")"
}

# siw carries RDMA over the kernel's TCP, and binds a listener's sockets to the netdev of
# its device: a connection between two local addresses goes over lo and is reset there.
# So the client and the server get the two ends of a veth pair, and policy routing sends
# what the guest sends to its own server address out of the client end, which the server
# end receives: the packets cross the wire.
# The addresses are IPv6: the C RTRS server listens on [::] only, so an IPv4 client
# arrives as ::ffff:a.b.c.d, which rdma_cm cannot map to a netdev for iWARP
# (rdma_translate_ip in iw_conn_req_handler): siw resets every IPv4 connect to it.
# Client fd00:4::1 (veth siwc0, siw0) -> server SIW_ADDR fd00:4::2 (veth siws0, siw1).
SIW_ADDR=fd00:4::2
# siw_up: the above, once (later calls find it in place).
siw_up() {
	[ -e /sys/class/net/siwc0 ] && return 0
	modprobe siw || return 1
	# The local table after our rules, so that a local destination can leave the stack.
	ip -6 rule add pref 1000 lookup local && ip -6 rule del pref 0 || return 1
	ip link add siwc0 type veth peer name siws0 || return 1
	ip -6 addr add fd00:4::1/64 dev siwc0 nodad && ip -6 addr add fd00:4::2/64 dev siws0 nodad \
		&& ip link set siwc0 up && ip link set siws0 up || return 1
	# Sent by this guest (iif lo) to the server end: out of the client end, and back.
	ip -6 route add fd00:4::2 dev siwc0 src fd00:4::1 table 10 \
		&& ip -6 route add fd00:4::1 dev siws0 src fd00:4::2 table 11 \
		&& ip -6 rule add pref 100 to fd00:4::2 iif lo lookup 10 \
		&& ip -6 rule add pref 101 to fd00:4::1 iif lo lookup 11 || return 1
	# The ends answer no neighbour solicitation for one another (the asker's address is
	# local): fixed entries.
	ip -6 neigh replace fd00:4::2 lladdr "$(cat /sys/class/net/siws0/address)" dev siwc0 nud permanent \
		&& ip -6 neigh replace fd00:4::1 lladdr "$(cat /sys/class/net/siwc0/address)" dev siws0 nud permanent \
		|| return 1
	rdma link add siw0 type siw netdev siwc0 && rdma link add siw1 type siw netdev siws0
}
# siw_down: undoes siw_up (the siw module goes too).
siw_down() {
	[ -e /sys/class/net/siwc0 ] || return 0
	rdma link del siw0 && rdma link del siw1 && ip link del siwc0 || return 1
	ip -6 rule del pref 100 && ip -6 rule del pref 101 \
		&& ip -6 rule add pref 0 lookup local && ip -6 rule del pref 1000 || return 1
	rmmod siw
}

## The abstraction self-test module (tools/testing/selftest), driven through its sysfs class.
## Its cases run only when the Rust modules are under test (the module is ours either way).
SELFTEST_CTL=/sys/class/rnbd-rs-selftest/ctl
# The self-test cases run in the all-Rust configuration only (once per make check).
selftest_wanted() { [ "$RTRS_CLIENT$RTRS_SERVER$RNBD_CLIENT$RNBD_SERVER" = rustrustrustrust ]; }
selftest_load() { insmod "$REPO/rnbd_rs_selftest.ko" || fail "insmod rnbd_rs_selftest failed"; }
selftest_unload() { rmmod rnbd_rs_selftest || fail "rmmod rnbd_rs_selftest failed"; }
# selftest_run TEST ARG: runs one test of the module; the write's errno is the verdict.
selftest_run() { expect_write OK "$SELFTEST_CTL/$1" "$2"; }
