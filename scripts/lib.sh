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

# boot_guest FLAVOR OUT TIMEOUT SCRIPT: writes OUT/config.sh from the environment (REPO,
# RTRS_CLIENT, RTRS_SERVER, RNBD_CLIENT, RNBD_SERVER, SOFT_RDMA, CASES, RTRS_SRV_PARAMS,
# SUITE, BENCH_RUNTIME), then boots the cached FLAVOR kernel under QEMU/TCG with virtme-ng
# (host root read-only, OUT writable, a user-mode NIC) and runs "SCRIPT OUT" inside. The
# console goes to OUT/console.log.
# Returns the exit status of the VM run (124 on time-out).
boot_guest() {
	local flavor=$1 out=$2 limit=$3 script=$4 kdir
	kdir=$("$REPO/scripts/kernel.sh" --path "$flavor")
	[ -f "$kdir/.rnbd-rs-built" ] || die "no $flavor kernel at $kdir (run 'make kernel FLAVOR=$flavor')"
	[ -x "$VNG" ] || die "virtme-ng missing at $VNG (run 'make deps')"
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
	FLAVOR=$flavor
	CASES='${CASES:-}'
	RTRS_SRV_PARAMS='${RTRS_SRV_PARAMS:-}'
	SUITE=${SUITE:-cases}
	BENCH_RUNTIME=${BENCH_RUNTIME:-30}
	CFG
	# One VM at a time on this machine: TCG guests starve each other (heartbeats time out).
	exec 9>"$CACHE/vm.lock"
	flock -n 9 || { step "waiting for another VM run on this machine to end"; flock 9; }
	# vng runs virtme-run from its own bin directory.
	PATH="${VNG%/*}:$PATH" timeout -k 30 "$limit" "$VNG" --run "$kdir" --disable-kvm \
		--cpus 2 --memory 4G --network user --rwdir "$out" \
		--append "kmemleak=on panic_on_warn=0 hung_task_panic=0" \
		--exec "$script $out" </dev/null >"$out/console.log" 2>&1
}

# The IO cases, run again with always_invalidate=N.
NOINVAL_CASES=fio_verify_brd,fio_verify_flush_fua,unmap_force_io,two_paths_disconnect,server_path_disconnect,remove_path_add_path,mpath_verify_round_robin,server_restart

# The named VM configurations: name; the implementation (rust|c) of RTRS_CLIENT,
# RTRS_SERVER, RNBD_CLIENT, RNBD_SERVER; the rtrs_server parameters (RTRS_SRV_PARAMS, "-"
# for none, "," between several); the cases to run ("-" for all, "," between several).
VM_CONFIGS=(
	"c-reference        c    c    c    c    -                    -"
	"rtrs-server-rust   c    rust c    c    -                    -"
	"rtrs-client-rust   rust c    c    c    -                    -"
	"rtrs-rust          rust rust c    c    -                    -"
	"rtrs-rust-noinval  rust rust c    c    always_invalidate=N  $NOINVAL_CASES"
	"rust               rust rust rust rust -                    -"
)

# vm_config NAME: sets RC RS NC NS (rtrs client/server, rnbd client/server), SP (server
# parameters) and CS (cases, empty for all), space-separated, of a named configuration;
# 1 if NAME is unknown.
vm_config() {
	local line name sp cs
	for line in "${VM_CONFIGS[@]}"; do
		read -r name RC RS NC NS sp cs <<<"$line"
		[ "$name" = "$1" ] || continue
		SP=${sp//,/ } CS=${cs//,/ }
		[ "$SP" != - ] || SP=
		[ "$CS" != - ] || CS=
		return 0
	done
	return 1
}
