#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# check-kdir.sh KDIR RUSTC BINDGEN: stops a build (make, make install, dkms) before it
# starts if KDIR cannot take these modules: not a built kernel tree, not Linux 6.12, built
# without CONFIG_RUST, or built by another rustc than RUSTC (Rust modules must be compiled
# by the very rustc that compiled their kernel's core and kernel crates). Silent when fine.
set -uo pipefail
kdir=${1:?usage: check-kdir.sh KDIR RUSTC BINDGEN} rustc=${2:?} bindgen=${3:?}
conf=$kdir/include/config/auto.conf
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }
# conf_value NAME: the value of CONFIG_NAME in auto.conf, without quotes (auto.conf of 6.12
# writes strings bare, .config quoted).
conf_value() { sed -n "s/^CONFIG_$1=\"\{0,1\}\([^\"]*\)\"\{0,1\}\$/\1/p" "$conf"; }

[ -d "$kdir" ] || die "KDIR=$kdir does not exist (a built kernel tree, or /lib/modules/<release>/build)"
{ [ -f "$conf" ] && [ -f "$kdir/Module.symvers" ]; } \
	|| die "KDIR=$kdir is not a built kernel tree (no include/config/auto.conf or Module.symvers)"
release=$(cat "$kdir/include/config/kernel.release" 2>/dev/null)
case "$release" in
6.12|6.12.*|6.12-*) ;;
*) die "KDIR=$kdir is Linux ${release:-(unknown release)}; these modules are written for the Rust API of Linux 6.12" ;;
esac
[ "$(conf_value RUST)" = y ] \
	|| die "the kernel in KDIR=$kdir ($release) is built without Rust support (CONFIG_RUST is not set); these modules are Rust and need a kernel with CONFIG_RUST=y"
want=$(conf_value RUSTC_VERSION_TEXT)
[ -n "$want" ] || die "the kernel in KDIR=$kdir ($release) does not record its rustc (no CONFIG_RUSTC_VERSION_TEXT)"
have=$("$rustc" --version 2>/dev/null) || die "RUSTC=$rustc does not run; pass RUSTC=<the rustc that built the kernel: $want>"
[ "$have" = "$want" ] \
	|| die "the kernel in KDIR=$kdir ($release) was built by '$want', but RUSTC=$rustc is '$have'; Rust modules must be built by the same rustc as their kernel (pass RUSTC=<that rustc>)"
[ -x "$bindgen" ] || die "bindgen not found at BINDGEN=$bindgen (run 'make deps', or pass BINDGEN=)"
exit 0
