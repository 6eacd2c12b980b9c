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
