# SPDX-License-Identifier: GPL-2.0-or-later
# Shared settings and helpers for the scripts (sourced, not run).

KVER=6.12.117
BINDGEN_VERSION=0.69.5
VNG_VERSION=1.42
# The cache lives outside the repo so a fresh clone reuses the built kernels.
CACHE=${RNBD_RS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rnbd-rs}
BINDGEN=$CACHE/cargo/bin/bindgen
VNG=$CACHE/venv/bin/vng
RUSTC=/usr/bin/rustc
KMAKE_OPTS=(LLVM=-19 RUSTC=$RUSTC BINDGEN=$BINDGEN HOSTRUSTC=$RUSTC)

step() { printf '==> %s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# write_config OUT: makes OUT afresh with OUT/config.sh, the settings of one VM run taken
# from the environment (REPO, RTRS_CLIENT, RTRS_SERVER, RNBD_CLIENT, RNBD_SERVER,
# SOFT_RDMA, FLAVOR, CASES, RTRS_SRV_PARAMS, SUITE, BENCH_RUNTIME, MAP_CYCLES, SOAK_SECONDS,
# SOAK_SAMPLE, FAIL_NTH_POINTS, HOSTILE, HOSTILE_C_SPLATS).
write_config() {
	local out=$1
	rm -rf "$out"
	mkdir -p "$out"
	cat > "$out/config.sh" <<-CFG
	REPO='$REPO'
	RESULTS='$out'
	RTRS_CLIENT=$RTRS_CLIENT
	RTRS_SERVER=$RTRS_SERVER
	RNBD_CLIENT=$RNBD_CLIENT
	RNBD_SERVER=$RNBD_SERVER
	SOFT_RDMA=$SOFT_RDMA
	FLAVOR=${FLAVOR:-debug}
	CASES='${CASES:-}'
	RTRS_SRV_PARAMS='${RTRS_SRV_PARAMS:-}'
	SUITE=${SUITE:-cases}
	BENCH_RUNTIME=${BENCH_RUNTIME:-30}
	MAP_CYCLES=${MAP_CYCLES:-100}
	SOAK_SECONDS=${SOAK_SECONDS:-}
	FAIL_NTH_POINTS=${FAIL_NTH_POINTS:-8}
	HOSTILE=${HOSTILE:-quick}
	HOSTILE_C_SPLATS=${HOSTILE_C_SPLATS:-}
	SOAK_SAMPLE=${SOAK_SAMPLE:-600}
	CFG
}

# module_set_from_env WHO: RTRS_CLIENT, RTRS_SERVER, RNBD_CLIENT, RNBD_SERVER (rust, the
# default, or c) and RTRS_SRV_PARAMS (name=value ...) from the environment, checked; the
# Rust modules must be built in REPO. Sets TAG to the set's name for results folders,
# clt-<rtrs><rnbd>_srv-<rtrs><rnbd>, and TAG_PARAMS to _srv-params-<name>-<value>... for the
# parameters (empty without).
module_set_from_env() {
	local m v p
	for m in RTRS_CLIENT RTRS_SERVER RNBD_CLIENT RNBD_SERVER; do
		v=${!m:-rust}
		case "$v" in rust|c) ;; *) die "$1: $m must be rust or c, not '$v'" ;; esac
		printf -v "$m" %s "$v"
	done
	RTRS_SRV_PARAMS=${RTRS_SRV_PARAMS:-}
	for p in $RTRS_SRV_PARAMS; do
		[[ "$p" =~ ^[a-z_]+=[A-Za-z0-9]+$ ]] || die "$1: RTRS_SRV_PARAMS: '$p' is not name=value"
	done
	export RTRS_CLIENT RTRS_SERVER RNBD_CLIENT RNBD_SERVER RTRS_SRV_PARAMS
	if [ "$RTRS_CLIENT$RTRS_SERVER$RNBD_CLIENT$RNBD_SERVER" != cccc ]; then
		for m in rtrs_client rtrs_server rnbd_client rnbd_server; do
			[ -f "$REPO/$m.ko" ] || die "$1: $REPO/$m.ko not built (run 'make')"
		done
	fi
	TAG="clt-${RTRS_CLIENT}${RNBD_CLIENT}_srv-${RTRS_SERVER}${RNBD_SERVER}" TAG_PARAMS=
	[ -z "$RTRS_SRV_PARAMS" ] || TAG_PARAMS="_srv-params-$(echo $RTRS_SRV_PARAMS | tr ' =' '_-')"
}

# vm_lock: takes this machine's VM lock (fd 9), waiting for another VM run to end. One VM
# run at a time: TCG guests starve each other (heartbeats time out).
vm_lock() {
	exec 9>"$CACHE/vm.lock"
	flock -n 9 || { step "waiting for another VM run on this machine to end"; flock 9; }
}

# boot_guest FLAVOR OUT TIMEOUT SCRIPT [ARG...]: boots the cached FLAVOR kernel under
# QEMU/TCG with virtme-ng (host root read-only, OUT writable, a user-mode NIC) and runs
# "SCRIPT OUT ARG..." inside. OUT exists (write_config); the console goes to
# OUT/console.log, or GUEST_CONSOLE. GUEST_CPUS (2), GUEST_MEMORY (4G) and GUEST_QEMU_OPTS
# (more QEMU options) shape the guest; VM_LOCKED=1 says the caller holds the VM lock.
# Returns the exit status of the VM run (124 on time-out).
boot_guest() {
	local flavor=$1 out=$2 limit=$3 script=$4 kdir qopts=()
	shift 4
	kdir=$("$REPO/scripts/kernel.sh" --path "$flavor")
	[ -f "$kdir/.rnbd-rs-built" ] || die "no $flavor kernel at $kdir (run 'make kernel FLAVOR=$flavor')"
	[ -x "$VNG" ] || die "virtme-ng missing at $VNG (run 'make deps')"
	[ -d "$out" ] || die "boot_guest: no folder $out"
	[ "${VM_LOCKED:-}" = 1 ] || vm_lock
	[ -z "${GUEST_QEMU_OPTS:-}" ] || qopts=("--qemu-opts=$GUEST_QEMU_OPTS")
	# vng runs virtme-run from its own bin directory.
	PATH="${VNG%/*}:$PATH" timeout -k 30 "$limit" "$VNG" --run "$kdir" --disable-kvm \
		--cpus "${GUEST_CPUS:-2}" --memory "${GUEST_MEMORY:-4G}" --network user --rwdir "$out" \
		"${qopts[@]}" --append "kmemleak=on panic_on_warn=0 hung_task_panic=0" \
		--exec "$script $out $*" </dev/null >"${GUEST_CONSOLE:-$out/console.log}" 2>&1
}

# tally_run DIR NAME RC: adds the VM run in DIR, whose report.sh ended with RC, to the
# caller's passed and failed counts and its fails and summaries lists.
tally_run() {
	local dir=$1 name=$2 rc=$3 sum vp vf
	sum=$(cat "$dir/summary" 2>/dev/null)
	summaries+=("$name: ${sum:-no summary in $dir (the run did not finish)}")
	vp=$(sed -n 's/.*: \([0-9]*\) passed.*/\1/p' <<<"$sum")
	vf=$(sed -n 's/.* \([0-9]*\) failed.*/\1/p' <<<"$sum")
	passed=$((passed + ${vp:-0})) failed=$((failed + ${vf:-0}))
	if [ "$rc" != 0 ]; then
		fails+=("vmtest $name")
		[ "${vf:-0}" -gt 0 ] || failed=$((failed + 1))
	fi
}

# vm_suite BOOT TIMEOUT FULL NAME...: one boot of the $FLAVOR kernel runs the named
# configurations of VM_CONFIGS one after another (tools/testing/vm/guest.sh: each loads its
# module set, runs its cases, and unloads it in final_rmmod), each into BOOT/<name>/ with
# the boot's logs in BOOT; FULL=full takes make matrix's cases, CASES and SOFT_RDMA from
# the environment apply to every configuration. Prints each one's matrix, and adds to the
# caller's passed and failed counts and its fails and summaries lists. Needs REPO.
vm_suite() {
	local boot=$1 limit=$2 full=$3 name s vm_rc=0 all_rdma=${SOFT_RDMA:-}
	local runs=()
	shift 3
	rm -rf "$boot"
	mkdir -p "$boot"
	for name in "$@"; do
		vm_config "$name" $full || die "vm_suite: unknown configuration '$name'"
		RTRS_CLIENT=$RC RTRS_SERVER=$RS RNBD_CLIENT=$NC RNBD_SERVER=$NS RTRS_SRV_PARAMS=$SP \
			SOFT_RDMA=${all_rdma:-$SR} CASES=${CASES:-$CS} write_config "$boot/$name"
		runs+=("$boot/$name")
	done
	s=$(date +%s)
	step "one ${FLAVOR:-debug} boot under TCG for: $*"
	boot_guest "${FLAVOR:-debug}" "$boot" "$limit" "$REPO/tools/testing/vm/guest.sh" "${runs[@]}" || vm_rc=$?
	step "the VM suite took $(( $(date +%s) - s )) s (exit $vm_rc)"
	for name in "$@"; do
		"$REPO/tools/testing/vm/report.sh" "$boot/$name" "$name"
		tally_run "$boot/$name" "$name" $?
	done
	if [ "$vm_rc" != 0 ]; then
		fails+=("the VM run ended with exit $vm_rc (124: time-out; see $boot/console.log)")
		failed=$((failed + 1))
	fi
}

# print_summary TITLE T0 LABEL: the closing lines of a run: "== make TITLE (seconds since
# T0)", the caller's summaries and fails, "LABEL: N passed, N failed"; false if any failed.
print_summary() {
	echo
	echo "== make $1 ($(( $(date +%s) - $2 )) s)"
	printf '  %s\n' "${summaries[@]}"
	[ ${#fails[@]} -eq 0 ] || { echo "failed:"; printf '  %s\n' "${fails[@]}"; }
	echo "$3: $passed passed, $failed failed"
	[ "$failed" = 0 ]
}

# Case groups for the configurations below (tools/testing/cases/*.sh has them all).
# The conformance suite, without the map/unmap cycles.
CONFORMANCE=modules_load_unload,map_unmap_brd,map_unmap_null_blk,rnbd_numbering,sysfs_abi,fio_verify_brd,access_mode_ro,map_bad_input,two_paths_disconnect,server_path_disconnect,mpath_policy_switch
# The C reference in make check: the conformance suite without the cases that `rust` also
# runs and that take longest (sysfs_abi, mpath_policy_switch; make matrix has them), and the
# short hostile client and server.
C_REFERENCE_CHECK=modules_load_unload,map_unmap_brd,map_unmap_null_blk,rnbd_numbering,fio_verify_brd,access_mode_ro,map_bad_input,two_paths_disconnect,server_path_disconnect,hostile_quick,hostile_server_quick
# What every mix runs in make check: a mapping, and its data under fio verify.
INTEROP=map_unmap_brd,fio_verify_brd
# RNBD IO under verification, and the RNBD rules (access modes, resize, paths, files).
RNBD_IO=fio_verify_flush_fua,discard_write_zeroes,loop_tmpfs_verify,unmap_force_io
RNBD_RULES=access_modes,resize_seen,dev_path_escape,regular_file_export
# Multipath under fio verify, one case per policy.
MPATH_VERIFY=mpath_verify_round_robin,mpath_verify_min_inflight,mpath_verify_min_latency
# The cases of the reliability plan (notes/reliability.md §5.3) that make reliability runs
# against C and Rust (scripts/reliability.sh has their plan IDs).
RELIABILITY_CASES=map_bad_input,self_delete_attr_reader,map_fail_nth,add_path_fail_nth,selftest_sysfs_failslab,hostile_con_req,hostile_half_open,hostile_info_req,hostile_imm,hostile_rw_desc,hostile_read_overlong,hostile_rnbd_msg,hostile_rnbd_write_ro,hostile_info_no_nul,hostile_imm_hb_cid1,hostile_info_empty,hostile_stale_rkey,hostile_srv_rtrs,hostile_srv_open_rsp,two_paths_disconnect,remove_path_add_path,mpath_policy_switch,server_path_disconnect,rdma_link_del_io,server_restart,unmap_rmmod_race,rxe_rmmod_io,map_unmap_cycles,failslab_io,permit_exhaustion
# The IO cases, run again with always_invalidate=N.
NOINVAL_CASES=fio_verify_brd,fio_verify_flush_fua,unmap_force_io,two_paths_disconnect,server_path_disconnect,remove_path_add_path,mpath_verify_round_robin,server_restart

# The named VM configurations: name; the implementation (rust|c) of RTRS_CLIENT,
# RTRS_SERVER, RNBD_CLIENT, RNBD_SERVER; the soft-RDMA (rxe; siw cannot carry RTRS); the rtrs_server
# parameters (RTRS_SRV_PARAMS, "-" for none, "," between several); the cases make check
# runs; the cases make matrix runs ("-" for all, "," between several, a leading "-" leaves
# a case out).
# make check (CI: at most 90 minutes on 2 cores; the VM suite aims at about 65 minutes, as
# TCG runs differ by 20%) runs the conformance suite and the short hostile client and server on the C
# reference, every case with everything in Rust (map/unmap cycles: 10), and in each mix
# what crosses its C/Rust boundary: a mapping and its data under fio verify (INTEROP)
# everywhere; path events where an RTRS side is ours; the multipath, restart and
# always_invalidate=N cases where both RTRS sides are; RNBD numbering, access modes and bad
# input where RNBD meets RNBD of the other kind, and flush/FUA, discard, write zeroes and
# the server restart where our RNBD meets the C RNBD over C RTRS on one side. make matrix
# runs the whole conformance suite and every case each mix takes part in (100 cycles; about
# 3 hours).
VM_CONFIGS=(
	"c-reference        c    c    c    c    rxe  -                    $C_REFERENCE_CHECK -"
	"rtrs-server-rust   c    rust c    c    rxe  -                    $INTEROP,two_paths_disconnect,server_path_disconnect,iwarp_refused $CONFORMANCE,iwarp_refused"
	"rtrs-client-rust   rust c    c    c    rxe  -                    $INTEROP,map_bad_input,two_paths_disconnect,server_path_disconnect,iwarp_refused,hostile_server_quick $CONFORMANCE,iwarp_refused,hostile_server_quick"
	"rtrs-rust          rust rust c    c    rxe  -                    $INTEROP,two_paths_disconnect,remove_path_add_path,mpath_verify_round_robin,server_restart -map_unmap_cycles,-access_modes,-resize_seen,-dev_path_escape,-regular_file_export"
	"rtrs-rust-noinval  rust rust c    c    rxe  always_invalidate=N  fio_verify_brd,two_paths_disconnect $NOINVAL_CASES"
	"rnbd-rust          c    c    rust rust rxe  -                    $INTEROP,rnbd_numbering,access_mode_ro,map_bad_input $CONFORMANCE,map_unmap_cycles,$RNBD_IO,$RNBD_RULES,poll_queues_remap,remove_last_path,server_restart"
	"client-rust        rust c    rust c    rxe  -                    $INTEROP,access_mode_ro,map_bad_input,fio_verify_flush_fua,discard_write_zeroes,server_restart $CONFORMANCE,$RNBD_IO,access_modes,resize_seen,poll_queues_remap,remove_last_path,path_addresses,server_restart"
	"server-rust        c    rust c    rust rxe  -                    $INTEROP,access_mode_ro,server_path_disconnect,fio_verify_flush_fua,discard_write_zeroes,server_restart $CONFORMANCE,$RNBD_IO,$RNBD_RULES,remove_path_add_path,server_restart"
	"rust               rust rust rust rust rxe  -                    -                    -"
	"rust-noinval       rust rust rust rust rxe  always_invalidate=N  $NOINVAL_CASES -"
)

# vm_config NAME [full]: sets RC RS NC NS (rtrs client/server, rnbd client/server), SR
# (soft-RDMA), SP (server parameters) and CS (cases: make check's, or make matrix's with
# "full"; empty for all), space-separated, of a named configuration; 1 if NAME is unknown.
vm_config() {
	local line name sp cs full
	for line in "${VM_CONFIGS[@]}"; do
		read -r name RC RS NC NS SR sp cs full <<<"$line"
		[ "$name" = "$1" ] || continue
		[ "${2:-}" != full ] || cs=$full
		SP=${sp//,/ } CS=${cs//,/ }
		[ "$SP" != - ] || SP=
		[ "$CS" != - ] || CS=
		return 0
	done
	return 1
}
