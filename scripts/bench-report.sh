#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# bench-report.sh [DIR]: scripts/bench_report.py on the results of make bench in DIR
# (default results/bench): DIR/report.md, bench.csv, iops-vs-qd.png, lat-cdf.png.
# bench-report.sh --test: its unit tests (tools/testing/bench/test_report.py).
# Both with the python of the project's venv, where make deps puts matplotlib.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
. "$repo/scripts/lib.sh"
py=$CACHE/venv/bin/python3
"$py" -c 'import matplotlib' 2>/dev/null || die "no matplotlib in $CACHE/venv (run 'make deps')"
if [ "${1:-}" = --test ]; then
	exec "$py" -m unittest discover -s "$repo/tools/testing/bench" -p 'test_*.py' -v
fi
exec "$py" "$repo/scripts/bench_report.py" "${1:-$repo/results/bench}"
