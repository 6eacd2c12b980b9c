#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Counts `unsafe` per directory (blocks, functions, impls and traits) and fails if any sits
# outside rust/, except in the rtrs.h export layers (ffi_api.rs). Comments are not counted.
set -uo pipefail
cd "$(dirname "$0")/.."

# count FILES...: "blocks fns impls" over the files' code lines.
count() {
	[ $# -gt 0 ] || { echo "0 0 0"; return; }
	sed -e 's@//.*@@' "$@" | awk '
		{ n = gsub(/unsafe[ \t]*\{/, "&"); b += n
		  n = gsub(/unsafe[ \t]+(extern[ \t]+"C"[ \t]+)?fn/, "&"); f += n
		  n = gsub(/unsafe[ \t]+(impl|trait)/, "&"); i += n }
		END { print b + 0, f + 0, i + 0 }'
}

printf '%-28s %7s %7s %7s\n' directory blocks fns impls
bad=0
for d in $(git ls-files '*.rs' | xargs -n1 dirname | sort -u); do
	mapfile -t files < <(git ls-files "$d/*.rs" | awk -F/ -v d="$d" 'NF == split(d, a, "/") + 1')
	read -r b f i < <(count "${files[@]}")
	[ $((b + f + i)) -gt 0 ] || continue
	printf '%-28s %7s %7s %7s\n' "$d" "$b" "$f" "$i"
	case $d in
	rust | rust/*) ;;
	*)
		for file in "${files[@]}"; do
			[ "${file##*/}" = ffi_api.rs ] && continue
			if sed -e 's@//.*@@' "$file" | grep -qw unsafe; then
				echo "ERROR: unsafe outside rust/ in $file" >&2
				bad=1
			fi
		done
		;;
	esac
done
exit $bad
