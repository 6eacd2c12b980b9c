#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make check: every test of the project, from a fresh machine. Installs what is missing,
# builds (or reuses) the debug kernel, then: host unit tests, rustfmt, the modules under
# clippy, and the VM suite with IMPL=c (the reference) and IMPL=rust.
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
. scripts/lib.sh

t0=$(date +%s)
timed() { local s=$(date +%s); "$@"; local rc=$?; step "$*: $(( $(date +%s) - s )) s (exit $rc)"; return $rc; }

timed scripts/deps.sh || die "check: installing dependencies failed"
timed scripts/kernel.sh debug >/dev/null || die "check: building the debug kernel failed"

passed=0 failed=0
fails=()
count() { # count NAME RC
	if [ "$2" = 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fails+=("$1"); fi
}

hostlog=$(mktemp)
timed make -s hosttest 2>&1 | tee "$hostlog"
rc=${PIPESTATUS[0]}
hp=$(awk '/^test result:/ { for (i = 1; i <= NF; i++) if ($(i+1) ~ /^passed/) s += $i } END { print s + 0 }' "$hostlog")
hf=$(awk '/^test result:/ { for (i = 1; i <= NF; i++) if ($(i+1) ~ /^failed/) s += $i } END { print s + 0 }' "$hostlog")
rm -f "$hostlog"
passed=$((passed + hp)) failed=$((failed + hf))
[ "$rc" = 0 ] || { [ "$hf" -gt 0 ] || failed=$((failed + 1)); fails+=("host unit tests"); }

timed make -s fmt-check; count "rustfmt --check" $?
timed make -s unsafe-report; count "unsafe only in rust/" $?
timed make -s clippy; count "modules build under CLIPPY=1" $?
timed make -s modules; count "modules build" $?

summaries=()
for impl in c rust; do
	timed make -s vmtest IMPL=$impl
	rc=$?
	sum=$(cat results/vmtest/*clt-${impl}${impl}_srv-${impl}${impl}_${SOFT_RDMA:-rxe}_debug/summary 2>/dev/null)
	summaries+=("${sum:-IMPL=$impl: no summary (the run did not finish)}")
	vp=$(sed -n 's/.*: \([0-9]*\) passed.*/\1/p' <<<"$sum")
	vf=$(sed -n 's/.* \([0-9]*\) failed.*/\1/p' <<<"$sum")
	passed=$((passed + ${vp:-0})) failed=$((failed + ${vf:-0}))
	if [ "$rc" != 0 ]; then
		fails+=("vmtest IMPL=$impl")
		[ "${vf:-0}" -gt 0 ] || failed=$((failed + 1))
	fi
done

echo
echo "== make check ($(( $(date +%s) - t0 )) s)"
printf '  %s\n' "${summaries[@]}"
[ ${#fails[@]} -eq 0 ] || { echo "failed:"; printf '  %s\n' "${fails[@]}"; }
echo "check: $passed passed, $failed failed"
[ "$failed" = 0 ]
