#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Prints the result matrix of one VM run and its closing line; exits 1 if anything failed.
# A case listed in the run's order file without a result (VM crash, time-out) has failed.
set -uo pipefail
results=$1 tag=$2
passed=0 failed=0 xfailed=0
xfails=() fails=()
if [ ! -f "$results/order" ]; then
	echo "vmtest: $tag: the guest never started the suite (logs in $results)" >&2
	cat "$results/setup.failed" >&2 2>/dev/null
	tail -20 "$results/guest.log" "$results/console.log" >&2 2>/dev/null
	echo "vmtest: 0 passed, 1 failed"
	exit 1
fi
printf '\n%-28s %-12s %6s  %s\n' "case [$tag]" result time detail
while read -r name; do
	r="$results/cases/$name/result"
	if [ -f "$r" ]; then read -r verdict detail < "$r"; else verdict=FAIL detail="no result (guest crashed or timed out; see console.log)"; fi
	secs=$(cat "$results/cases/$name/seconds" 2>/dev/null || echo -)
	d=${detail:-}
	[ ${#d} -le 90 ] || d="${d:0:87}..."
	printf '%-28s %-12s %5ss  %s\n' "$name" "$verdict" "$secs" "$d"
	case "$verdict" in
	PASS) passed=$((passed + 1)) ;;
	XFAIL*) xfailed=$((xfailed + 1)); xfails+=("$name $verdict ${detail:-}") ;;
	*) failed=$((failed + 1)); fails+=("$name: $verdict ${detail:-}") ;;
	esac
done < "$results/order"
if [ -f "$results/boot.result" ] && ! grep -q PASS "$results/boot.result"; then
	failed=$((failed + 1)); fails+=("boot: $(cat "$results/boot.result")")
fi
echo
if [ $xfailed -gt 0 ]; then
	echo "expected failures ($xfailed), counted apart:"
	printf '  %s\n' "${xfails[@]}"
fi
if [ $failed -gt 0 ]; then
	echo "failures ($failed), logs in $results/cases/<case>/:"
	printf '  %s\n' "${fails[@]}"
fi
echo "$tag: $passed passed, $failed failed, $xfailed expected failures" > "$results/summary"
echo "vmtest: $passed passed, $failed failed"
[ $failed -eq 0 ]
