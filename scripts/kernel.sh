#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Builds (or finds in the cache) the test kernel of one flavour.
#   scripts/kernel.sh debug|perf          build if missing, print the tree's path
#   scripts/kernel.sh --path debug|perf   only print where the tree is (or will be)
# The cache key is the kernel version plus the hash of the config fragments, so editing a
# fragment builds a new tree and the old one stays usable until removed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

only_path=0
if [ "${1:-}" = --path ]; then only_path=1; shift; fi
flavor=${1:-debug}
case "$flavor" in debug|perf) ;; *) die "kernel: FLAVOR must be debug or perf, not '$flavor'" ;; esac

frags=("$here/kconfig/base.config" "$here/kconfig/$flavor.config")
hash=$(cat "${frags[@]}" | sha256sum | cut -c1-12)
tree=$CACHE/kernels/linux-$KVER-$flavor-$hash
if [ $only_path = 1 ]; then echo "$tree"; exit 0; fi

if [ -f "$tree/.rnbd-rs-built" ]; then
	step "kernel: $flavor tree cached at $tree"
	echo "$tree"
	exit 0
fi

src=/usr/src/linux-source-6.12.tar.xz
[ -f "$src" ] || die "kernel: $src missing (run 'make deps': package linux-source-6.12)"
[ -x "$BINDGEN" ] || die "kernel: bindgen missing at $BINDGEN (run 'make deps')"

start=$(date +%s)
# Built in place (paths inside a built tree are absolute); the stamp marks it complete.
rm -rf "$tree"
mkdir -p "$tree"
# A failed build leaves nothing behind but its log, copied next to the cache.
trap 'cp -f "$tree/build.log" "$tree.failed.log" 2>/dev/null; rm -rf "$tree"' EXIT
step "kernel: unpacking $src"
tar -xJf "$src" -C "$tree" --strip-components=1 || die "kernel: unpacking $src failed"
grep -q "^SUBLEVEL = ${KVER##*.}$" "$tree/Makefile" \
	|| die "kernel: $src is not $KVER (update linux-source-6.12 or KVER in scripts/lib.sh)"

cat "${frags[@]}" > "$tree/rnbd-rs.config"
kmake() { make -C "$tree" -s "${KMAKE_OPTS[@]}" "$@"; }
step "kernel: configuring $flavor (allnoconfig + fragments)"
kmake rustavailable >/dev/null || die "kernel: 'make rustavailable' failed: Rust toolchain not usable"
kmake KCONFIG_ALLCONFIG=rnbd-rs.config allnoconfig >/dev/null || die "kernel: allnoconfig failed"

# Every option a fragment names must have survived Kconfig's dependency resolution.
bad=()
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*) grep -qx -- "$line" "$tree/.config" || bad+=("$line") ;;
	"# CONFIG_"*" is not set")
		opt=${line#\# }; opt=${opt%% *}
		grep -q "^$opt=" "$tree/.config" && bad+=("$line") ;;
	esac
done < <(cat "${frags[@]}")
[ ${#bad[@]} -eq 0 ] || die "kernel: options did not stick (missing dependency?): ${bad[*]}"

jobs=$(( $(nproc) + 1 ))
step "kernel: building $flavor with -j$jobs (several minutes)"
kmake -j"$jobs" all >"$tree/build.log" 2>&1 \
	|| { tail -30 "$tree/build.log" >&2; die "kernel: build failed, log in $tree.failed.log"; }
end=$(date +%s)
echo "$((end - start))" > "$tree/.rnbd-rs-build-seconds"
touch "$tree/.rnbd-rs-built"
trap - EXIT
step "kernel: $flavor built in $((end - start)) s at $tree"
echo "$tree"
