#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Installs everything the build, the VM harness and the tests need: Debian packages (dkms
# for the modules' dkms.conf), bindgen-cli 0.69.5, virtme-ng from PyPI and matplotlib (for
# the plots of scripts/bench_report.py) into the same venv. Idempotent: a second run checks
# and skips.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
MPL_VERSION=3.11.2

APT_PKGS=(
	linux-source-6.12
	rustc-web rust-web-src libstd-rust-web-dev rust-web-clippy
	clang-19 lld-19 llvm-19 libclang-19-dev
	flex bison bc libelf-dev libssl-dev cpio dwarves kmod zstd xz-utils dkms
	qemu-system-x86 fio rdma-core ibverbs-utils iproute2 iputils-ping procps util-linux
	nvme-cli perftest open-iscsi linux-perf librdmacm-dev libibverbs-dev
	python3-docutils
)

missing=()
for p in "${APT_PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	step "apt: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq || die "apt-get update failed"
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
		|| die "apt-get install of ${missing[*]} failed"
else
	step "apt: all ${#APT_PKGS[@]} packages present"
fi

if [ "$("$BINDGEN" --version 2>/dev/null)" != "bindgen $BINDGEN_VERSION" ]; then
	step "cargo: installing bindgen-cli $BINDGEN_VERSION into $CACHE/cargo"
	LIBCLANG_PATH=/usr/lib/llvm-19/lib cargo install --locked --quiet \
		--root "$CACHE/cargo" bindgen-cli --version "$BINDGEN_VERSION" \
		|| die "cargo install bindgen-cli $BINDGEN_VERSION failed"
else
	step "cargo: bindgen $BINDGEN_VERSION present"
fi

if ! "$VNG" --version 2>/dev/null | grep -q "$VNG_VERSION"; then
	step "pip: installing virtme-ng==$VNG_VERSION into $CACHE/venv"
	python3 -m venv "$CACHE/venv" || die "python3 -m venv failed"
	"$CACHE/venv/bin/pip" install -q "virtme-ng==$VNG_VERSION" || die "pip install virtme-ng failed"
else
	step "pip: virtme-ng $VNG_VERSION present"
fi

PY=$CACHE/venv/bin/python3
if [ "$("$PY" -c 'import matplotlib; print(matplotlib.__version__)' 2>/dev/null)" != "$MPL_VERSION" ]; then
	step "pip: installing matplotlib==$MPL_VERSION into $CACHE/venv"
	"$CACHE/venv/bin/pip" install -q --only-binary=:all: "matplotlib==$MPL_VERSION" \
		|| die "pip install matplotlib==$MPL_VERSION failed"
else
	step "pip: matplotlib $MPL_VERSION present"
fi

[ -x /usr/bin/rustc ] && /usr/bin/rustc --version | grep -q '1\.96' \
	|| die "/usr/bin/rustc is not rustc 1.96 (package rustc-web)"
step "deps: done"
