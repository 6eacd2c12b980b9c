#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make soak HOURS=N: the soak of the reliability plan (G1) in one VM boot: case soak of
# tools/testing/cases/70-soak.sh for HOURS hours (fractions allowed: HOURS=0.1 is 6
# minutes), then final_rmmod with its kmemleak scan. The module set is chosen as for make
# vmtest (RTRS_CLIENT, ..., IMPL; default all Rust), FLAVOR as well (default debug).
# SOAK_SAMPLE sets the seconds between memory samples (default: 600, or a sixth of a
# shorter soak). Prints soak-report.txt; results/soak/<module set>/cases/soak/ has
# soak.tsv (the samples), fio-soak.log and the guest's dmesg.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
. "$repo/scripts/lib.sh"

hours=${HOURS:-1}
[[ "$hours" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "soak: HOURS must be a number of hours, not '$hours'"
SOAK_SECONDS=$(awk -v h="$hours" 'BEGIN { printf "%d", h * 3600 }')
[ "$SOAK_SECONDS" -ge 120 ] || die "soak: HOURS=$hours is under the 2 minutes a soak needs"
SOAK_SAMPLE=${SOAK_SAMPLE:-$(( SOAK_SECONDS / 6 < 600 ? SOAK_SECONDS / 6 : 600 ))}
tag="${RTRS_CLIENT:-rust}${RTRS_SERVER:-rust}${RNBD_CLIENT:-rust}${RNBD_SERVER:-rust}"
export SOAK_SECONDS SOAK_SAMPLE CASES=soak
export RESULTS=${RESULTS:-$repo/results/soak/$tag}
export VM_TIMEOUT=$((SOAK_SECONDS + 1800))
step "soak: $hours h ($SOAK_SECONDS s, a sample every $SOAK_SAMPLE s) into $RESULTS"
rc=0
"$repo/tools/testing/vm/run.sh" || rc=$?
report=$RESULTS/cases/soak/soak-report.txt
[ -f "$report" ] && cat "$report" || echo "soak: no report (see $RESULTS/cases/soak/log)"
exit $rc
