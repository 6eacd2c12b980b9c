#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make install-check: the installation on the host, without root and without building
# (run after 'make modules'). Under a staging root holding the debug kernel's own modules
# (the in-tree C rtrs/rnbd twins among them): 'make install' puts the four modules in
# updates/ and depmod resolves every name to them; 'make uninstall' removes exactly those
# and the names resolve to the C modules again. Then the refusals of scripts/check-kdir.sh:
# a kernel tree without CONFIG_RUST, and a rustc other than the kernel's. Last, a staged
# DKMS installation (below).
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo" || exit 1
. scripts/lib.sh

# The defaults are what is checked, whatever the environment says.
unset INSTALL_MOD_PATH INSTALL_MOD_DIR DESTDIR
kdir=$(scripts/kernel.sh --path debug)
[ -f "$kdir/.rnbd-rs-built" ] || die "install-check: no debug kernel at $kdir (run 'make kernel')"
for m in rtrs_client rtrs_server rnbd_client rnbd_server; do
	[ -f "$m.ko" ] || die "install-check: $m.ko is not built (run 'make' first)"
done
rel=$(cat "$kdir/include/config/kernel.release")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
stage=$tmp/stage
lib=$stage/lib/modules/$rel
failed=0
ok() { echo "install-check: ok: $*"; }
bad() { echo "install-check: FAIL: $*"; failed=1; }

# resolves NAME: the file depmod's index of the staging root gives for module NAME.
resolves() { modinfo -b "$stage" -k "$rel" -F filename "$1" 2>&1; }

make -s -C "$kdir" "${KMAKE_OPTS[@]}" INSTALL_MOD_PATH="$stage" modules_install >"$tmp/log" 2>&1 \
	|| { cat "$tmp/log"; die "install-check: staging the kernel's own modules failed"; }
c_client=$(resolves rnbd_client)
[[ $c_client = "$lib/kernel/"*/rnbd-client.ko ]] || bad "the staged kernel has no C rnbd-client.ko ($c_client)"

if make -s install KDIR="$kdir" INSTALL_MOD_PATH="$stage" >"$tmp/log" 2>&1; then
	for m in rtrs_client rtrs_server rnbd_client rnbd_server; do
		got=$(resolves $m)
		[ "$got" = "$lib/updates/$m.ko" ] || bad "after make install, $m resolves to $got"
		# modprobe's plan ends with the module itself (its dependencies come first).
		plan=$(modprobe -n -v -d "$stage" -S "$rel" $m 2>&1 | tail -1)
		[ "$plan" = "insmod $lib/updates/$m.ko " ] || [ "$plan" = "insmod $lib/updates/$m.ko" ] \
			|| bad "after make install, modprobe -n -v $m plans '$plan'"
	done
	n=$(find "$lib/updates" -type f 2>/dev/null | wc -l)
	[ "$n" = 4 ] || bad "make install put $n files in updates/, not 4"
	[ $failed = 1 ] || ok "make install: the four modules in $lib/updates, preferred by depmod and modprobe to the in-tree C modules"
else
	cat "$tmp/log"
	bad "make install INSTALL_MOD_PATH=$stage failed"
fi

if make -s uninstall KDIR="$kdir" INSTALL_MOD_PATH="$stage" >"$tmp/log" 2>&1; then
	left=$(find "$lib" -name 'rtrs_*.ko*' -o -name 'rnbd_*.ko*')
	[ -z "$left" ] || bad "after make uninstall, left: $left"
	got=$(resolves rnbd_client)
	[ "$got" = "$c_client" ] || bad "after make uninstall, rnbd_client resolves to $got, not the C module"
	[ -n "$left" ] || [ "$got" != "$c_client" ] || ok "make uninstall: the four modules gone, names resolve to the C modules again"
else
	cat "$tmp/log"
	bad "make uninstall INSTALL_MOD_PATH=$stage failed"
fi

# refused WHAT PATTERN MAKE-ARGS...: 'make modules' with MAKE-ARGS must fail at once with a
# message matching PATTERN.
refused() {
	local what=$1 pattern=$2
	shift 2
	if make -s modules "$@" >"$tmp/log" 2>&1; then
		bad "$what: make modules $* succeeded"
	elif grep -q "$pattern" "$tmp/log" && ! grep -q 'RUSTC\s*\[M\]\|CC \[M\]\|BINDGEN' "$tmp/log"; then
		ok "$what refused: $(grep -m1 "$pattern" "$tmp/log")"
	else
		cat "$tmp/log"
		bad "$what: make modules $* failed without the expected message"
	fi
}

# A tree like the debug kernel's, but configured without Rust.
fake=$tmp/no-rust-kernel
mkdir -p "$fake/include/config"
grep -v '^CONFIG_RUST' "$kdir/include/config/auto.conf" > "$fake/include/config/auto.conf"
cp "$kdir/include/config/kernel.release" "$kdir/Module.symvers" "$fake/"
mv "$fake/kernel.release" "$fake/include/config/"
refused "a kernel without CONFIG_RUST" "built without Rust support" KDIR="$fake"

# A rustc that is not the one that built the kernel.
printf '#!/bin/sh\necho "rustc 1.95.0 (59807616e 2026-04-14)"\n' > "$tmp/rustc"
chmod +x "$tmp/rustc"
refused "another rustc" "Rust modules must be built by the same rustc" KDIR="$kdir" RUSTC="$tmp/rustc"

# DKMS, staged (nothing outside results/dkms is touched): Debian's dkms adds, builds and
# installs the tracked files of this tree for the debug kernel into a staging root that
# holds the kernel's own modules; depmod then resolves every name to updates/dkms/. The
# root stays for the VM case dkms_modprobe, which loads the modules from it with modprobe.
dk=$repo/results/dkms
rm -rf "$dk"
mkdir -p "$dk/src/rnbd-rs-0.1" "$dk/tree" "$dk/stage"
dkms_opts=(-m rnbd-rs -v 0.1 --sourcetree "$dk/src" --dkmstree "$dk/tree")
dstage=$dk/stage
dlib=$dstage/lib/modules/$rel
if ! git ls-files -z | tar --null -T - -cf - | tar -x -C "$dk/src/rnbd-rs-0.1"; then
	bad "dkms: copying the tracked files failed"
elif ! make -s -C "$kdir" "${KMAKE_OPTS[@]}" INSTALL_MOD_PATH="$dstage" modules_install >"$tmp/log" 2>&1; then
	cat "$tmp/log"
	bad "dkms: staging the kernel's own modules failed"
elif ! { dkms add "${dkms_opts[@]}" && dkms build "${dkms_opts[@]}" -k "$rel" --kernelsourcedir "$kdir" \
	&& dkms install --no-depmod "${dkms_opts[@]}" -k "$rel" --installtree "$dstage/lib/modules" \
	&& depmod -b "$dstage" "$rel"; } >"$tmp/log" 2>&1; then
	cat "$tmp/log"
	bad "dkms add/build/install failed"
else
	dfail=0
	for m in rtrs_client rtrs_server rnbd_client rnbd_server; do
		got=$(modinfo -b "$dstage" -k "$rel" -F filename $m 2>&1)
		[ "$got" = "$dlib/updates/dkms/$m.ko" ] || { bad "after dkms install, $m resolves to $got"; dfail=1; }
	done
	plan=$(modprobe -n -v -d "$dstage" -S "$rel" rnbd_client 2>&1 | tail -1)
	[ "$plan" = "insmod $dlib/updates/dkms/rnbd_client.ko " ] || [ "$plan" = "insmod $dlib/updates/dkms/rnbd_client.ko" ] \
		|| { bad "after dkms install, modprobe -n -v rnbd_client plans '$plan'"; dfail=1; }
	[ $dfail = 1 ] || ok "dkms $(dkms --version | sed 's/^dkms-//') add/build/install: the four modules in $dlib/updates/dkms, chosen by depmod and modprobe"
fi

exit $failed
