#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make check: every test of the project, from a fresh machine. Installs what is missing,
# builds (or reuses) the debug kernel, then: host unit tests, rustfmt, the documentation
# check, the modules under clippy, the benchmark report's unit tests, a staged make install
# and uninstall with the refusal of an unfit kernel tree or rustc (make install-check), the
# VM suite for each configuration of the matrix (VM_CONFIGS in scripts/lib.sh), with make
# check's cases of each (about 60 minutes on 2 cores), and the benchmark report of the
# suite's short benchmark run (case bench_smoke).
# 'scripts/check.sh --full' (make matrix) runs every case each configuration takes part in
# (about 2.5 hours).
#
# CHECK_CONFIGS="c-reference rtrs-server-rust" picks configurations by name (default:
# DEFAULT_CONFIGS); CASES, SOFT_RDMA, FLAVOR and MAP_CYCLES are passed on to every VM run.
# 'scripts/check.sh [--full] --list' prints the matrix and what would run.
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
. scripts/lib.sh

# What make check runs unless CHECK_CONFIGS says otherwise (VM_CONFIGS in scripts/lib.sh).
DEFAULT_CONFIGS="c-reference rtrs-server-rust rtrs-client-rust rtrs-rust rtrs-rust-noinval rnbd-rust client-rust server-rust rust"

full=
if [ "${1:-}" = --full ]; then full=full; shift; fi
# make check maps and unmaps 10 times; make matrix 100 times (blktests rnbd/002).
[ -n "$full" ] || export MAP_CYCLES=${MAP_CYCLES:-10}

configs=${CHECK_CONFIGS:-$DEFAULT_CONFIGS}
for name in $configs; do
	vm_config "$name" || die "check: unknown configuration '$name' in CHECK_CONFIGS (see scripts/check.sh --list)"
done
if [ "${1:-}" = --list ]; then
	for line in "${VM_CONFIGS[@]}"; do
		read -r name _ <<<"$line"
		vm_config "$name" $full
		on=" "; [[ " $configs " = *" $name "* ]] && on="*"
		printf '%s %-18s RTRS_CLIENT=%-4s RTRS_SERVER=%-4s RNBD_CLIENT=%-4s RNBD_SERVER=%-4s SOFT_RDMA=%s %s results/vmtest/check/%s\n' \
			"$on" "$name" "$RC" "$RS" "$NC" "$NS" "$SR" "${SP:+RTRS_SRV_PARAMS=\"$SP\"}${CS:+ CASES=\"$CS\"}" "$name"
	done
	echo "(* = runs: ${CHECK_CONFIGS:+CHECK_CONFIGS=}$configs)"
	exit 0
fi
[ $# -eq 0 ] || die "usage: scripts/check.sh [--full] [--list]"

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
timed make -s docs-check; count "docs: reST and ABI files" $?
timed make -s unsafe-report; count "unsafe only in rust/" $?
timed make -s clippy; count "modules build under CLIPPY=1" $?
timed make -s modules; count "modules build" $?
timed make -s hostile; count "hostile client build (tools/testing/hostile)" $?
timed make -s bench-report-test; count "bench report generator unit tests" $?
timed make -s install-check; count "install: staged make install/uninstall, KDIR and rustc refusals" $?

# The VM suite: one boot of the debug kernel runs the configurations one after another
# (vm_suite in scripts/lib.sh); results/vmtest/check/<name>/, the boot's logs one up.
boot=$repo/results/vmtest/check
REPO=$repo FLAVOR=${FLAVOR:-debug}
summaries=()
vm_suite "$boot" "${VM_TIMEOUT:-$([ -n "$full" ] && echo 14400 || echo 5000)}" "$full" $configs
# The benchmark smoke run (case bench_smoke) through the report generator: the harness end
# to end, tables and plots included (results/vmtest/check/rust/cases/bench_smoke/bench).
for smoke in "$boot"/*/cases/bench_smoke/bench; do
	[ -s "$smoke/runs.jsonl" ] || continue
	timed scripts/bench-report.sh "$smoke" >/dev/null
	count "bench report of the smoke run ($smoke)" $?
done

print_summary "${full:+matrix}${full:-check}" "$t0" check
