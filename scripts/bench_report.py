#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Report of a make bench run: bench_report.py RESULTS_DIR

Input: RESULTS_DIR/runs.jsonl, one JSON object per measured run (written by
tools/testing/bench/lib.sh): system, variant, backing, cell, rep, kind, ok, error,
cpu_busy_s, cpu_all_s, wall_s and either
  kind "fio":     file, a fio --output-format=json+ report relative to RESULTS_DIR
                  (group_reporting: jobs[0] holds the sums of read and write), or
  kind "metrics": iops, bw_bytes, ios, lat_p50_us, lat_p99_us, lat_p999_us, lat_mean_us
                  inline (any may be missing or null).
Runs with ok false (and fio runs whose report cannot be read) are failed: they are
counted and listed, never used in the statistics.

Output, in RESULTS_DIR:
  bench.csv       one row per (system, variant, backing, cell): medians over the ok
                  repetitions, IOPS min/max/spread, and the ratios to C RNBD (the
                  rnbd-c group of the same backing and cell, same variant if there is
                  one, else inv=Y, C's default)
  report.md       the same as one table per backing, the targets (met / MISSED), the
                  failed runs and how to read the figures; printed to stdout too
  iops-vs-qd.png  median IOPS against queue depth, 4 KiB random read and write
  lat-cdf.png     completion-latency CDF at queue depth 1 (fio's latency bins)
Latency percentiles come from the merged clat_ns bins of read and write (nearest rank),
or, without bins, from fio's own percentiles of the direction with more IOs.
"""
import csv
import json
import re
import statistics
import sys
from collections import Counter
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (the backend is chosen first)
from matplotlib import ticker  # noqa: E402

SYSTEM_ORDER = ["rnbd-rust", "rnbd-c", "nvmeof", "iser", "srp", "local", "raw-verbs"]
BACKING_ORDER = ["nullb", "nullb-mem", "brd"]
BACKING_TITLE = {"nullb": "null_blk (not memory-backed)", "nullb-mem": "null_blk (memory-backed)",
                 "brd": "brd (ram disk)", "": "no backing (raw verbs)"}
LAT_KEYS = ["lat_mean_us", "lat_p50_us", "lat_p99_us", "lat_p999_us"]
METRICS = ["iops", "bw_bytes", "ios"] + LAT_KEYS + ["cpu_per_io_us", "cpu_pct"]
CSV_COLUMNS = ["system", "variant", "backing", "cell", "reps", "iops_median", "iops_min",
               "iops_max", "iops_spread_pct", "bw_mib_s", "lat_mean_us", "lat_p50_us",
               "lat_p99_us", "lat_p999_us", "cpu_per_io_us", "cpu_pct", "iops_vs_c",
               "lat_mean_vs_c", "lat_p99_vs_c"]
CELL_ORDER = ["rr4k-", "rw4k-", "sr64k", "sw64k", "sr1m", "sw1m", "ionos"]
QD_CELL = re.compile(r"^(r[rw]4k)-qd(\d+)-j1$")
SYSTEM_COLOR = {s: plt.cm.tab10(i) for i, s in enumerate(SYSTEM_ORDER)}
MP_MARKER = {"": "o", "round-robin": "s", "min-inflight": "^", "min-latency": "v"}


def natural_key(s):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


def cell_key(cell):
    """The cells in the order of the issue (4 KiB random, sequential, mixed), then others."""
    rank = next((i for i, p in enumerate(CELL_ORDER) if cell.startswith(p)), len(CELL_ORDER))
    return rank, natural_key(cell)


def order_key(order, s):
    """Known names first in the given order, then the others alphabetically, "" last."""
    return (order.index(s), "") if s in order else (len(order) + (s == ""), s)


def group_sort_key(key):
    system, variant, backing, cell = key
    return (order_key(BACKING_ORDER, backing), cell_key(cell),
            order_key(SYSTEM_ORDER, system), variant)


def percentile_from_bins(bins, p):
    """The smallest latency (bin key, ns) with at least p% of the IOs at or below it."""
    total = sum(bins.values())
    if total == 0:
        return None
    need, seen = total * p / 100.0, 0
    for value in sorted(bins):
        seen += bins[value]
        if seen >= need:
            return value
    return max(bins)


def fio_directions(report):
    job = report["jobs"][0]
    return [job[d] for d in ("read", "write") if d in job]


def fio_bins(report):
    """The clat_ns bins of read and write merged: {latency ns: count}."""
    bins = Counter()
    for d in fio_directions(report):
        for k, v in d.get("clat_ns", {}).get("bins", {}).items():
            bins[int(k)] += v
    return bins


def parse_fio(report):
    """IOPS, bandwidth, IO count and latencies (µs) of one fio json+ report."""
    dirs = fio_directions(report)
    ios = sum(d.get("total_ios", 0) for d in dirs)
    m = {"iops": sum(d.get("iops", 0.0) for d in dirs),
         "bw_bytes": sum(d.get("bw_bytes", 0) for d in dirs), "ios": ios}
    clats = [d["clat_ns"] for d in dirs if d.get("clat_ns", {}).get("N")]
    n = sum(c["N"] for c in clats)
    m["lat_mean_us"] = sum(c["mean"] * c["N"] for c in clats) / n / 1e3 if n else None
    bins = fio_bins(report)
    main = max(dirs, key=lambda d: d.get("total_ios", 0)) if dirs else {}
    fio_pct = main.get("clat_ns", {}).get("percentile", {})
    for key, p in (("lat_p50_us", 50.0), ("lat_p99_us", 99.0), ("lat_p999_us", 99.9)):
        v = percentile_from_bins(bins, p) if bins else fio_pct.get(f"{p:.6f}")
        m[key] = v / 1e3 if v is not None else None
    return m


def run_metrics(results, rec):
    """The figures of one ok run; raises ValueError if its fio report is unusable."""
    if rec.get("kind") == "fio":
        try:
            with open(results / rec["file"]) as f:
                m = parse_fio(json.load(f))
        except (OSError, KeyError, IndexError, TypeError, ValueError) as e:
            raise ValueError(f"unreadable fio report {rec.get('file')}: {e}") from e
    else:
        m = {k: rec.get(k) for k in ["iops", "bw_bytes", "ios"] + LAT_KEYS}
    busy, all_s = rec.get("cpu_busy_s"), rec.get("cpu_all_s")
    m["cpu_per_io_us"] = busy / m["ios"] * 1e6 if busy is not None and m.get("ios") else None
    m["cpu_pct"] = 100.0 * busy / all_s if busy is not None and all_s else None
    return m


def load_runs(results):
    """(ok runs with their figures, failed runs) of RESULTS_DIR/runs.jsonl."""
    path = results / "runs.jsonl"
    if not path.is_file():
        sys.exit(f"bench_report: {path} is missing (did the benchmark guest run?)")
    ok, failed = [], []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError as e:
            print(f"bench_report: {path}:{n}: not JSON, skipped ({e})", file=sys.stderr)
            continue
        for k in ("system", "variant", "backing", "cell"):
            rec[k] = rec.get(k) or ""
        if rec.get("ok") is not True:
            failed.append(rec)
            continue
        try:
            rec["m"] = run_metrics(results, rec)
            ok.append(rec)
        except ValueError as e:
            failed.append(dict(rec, ok=False, error=str(e)))
    if not ok and not failed:
        sys.exit(f"bench_report: {path} has no runs")
    return ok, failed


def median_of(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def c_variant(variant):
    """The all-C variant to compare with: without the clt=/srv= of a mixed run."""
    return ",".join(p for p in variant.split(",") if not p.startswith(("clt=", "srv=")))


def ratio(a, b):
    return a / b if a is not None and b else None


def summarise(ok, failed):
    """{(system, variant, backing, cell): figures}, the groups in report order."""
    runs = {}
    for rec in ok + failed:
        runs.setdefault((rec["system"], rec["variant"], rec["backing"], rec["cell"]), [])
    for rec in ok:
        runs[(rec["system"], rec["variant"], rec["backing"], rec["cell"])].append(rec["m"])
    groups = {}
    for key in sorted(runs, key=group_sort_key):
        ms = runs[key]
        g = {"reps": len(ms)}
        for k in METRICS:
            g[k] = median_of(m.get(k) for m in ms)
        iops = [m["iops"] for m in ms if m.get("iops") is not None]
        g["iops_min"], g["iops_max"] = (min(iops), max(iops)) if iops else (None, None)
        g["iops_spread_pct"] = (100.0 * (g["iops_max"] - g["iops_min"]) / g["iops"]
                                if iops and g["iops"] else None)
        g["bw_mib_s"] = g["bw_bytes"] / 2**20 if g["bw_bytes"] is not None else None
        groups[key] = g
    for (system, variant, backing, cell), g in groups.items():
        c = groups.get(("rnbd-c", c_variant(variant), backing, cell)) \
            or groups.get(("rnbd-c", "inv=Y", backing, cell)) or {}
        g["iops_vs_c"] = ratio(g["iops"], c.get("iops"))
        g["lat_mean_vs_c"] = ratio(g["lat_mean_us"], c.get("lat_mean_us"))
        g["lat_p99_vs_c"] = ratio(g["lat_p99_us"], c.get("lat_p99_us"))
    return groups


def write_csv(path, groups):
    def cell(v):
        return "" if v is None else v if isinstance(v, (int, str)) else repr(round(v, 4))
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(CSV_COLUMNS)
        for (system, variant, backing, c), g in groups.items():
            row = dict(g, system=system, variant=variant, backing=backing, cell=c,
                       iops_median=g["iops"])
            w.writerow([cell(row[k]) for k in CSV_COLUMNS])


def fmt(v, spec, empty="–"):
    return empty if v is None else format(v, spec)


def backing_table(groups, backing):
    lines = ["| cell | system | variant | n | IOPS | spread | MiB/s | mean µs | p50 µs | p99 µs "
             "| p99.9 µs | CPU/IO µs | CPU % | IOPS vs C | mean vs C | p99 vs C |",
             "|" + "---|" * 3 + "---:|" * 13]
    for (system, variant, b, cell), g in groups.items():
        if b != backing:
            continue
        spread = "–" if g["iops_spread_pct"] is None else f"±{g['iops_spread_pct']:.0f}%"
        vals = [cell, system, variant or "–", str(g["reps"]), fmt(g["iops"], ",.0f"), spread,
                fmt(g["bw_mib_s"], ".1f")] + [fmt(g[k], ".1f") for k in LAT_KEYS] + \
            [fmt(g["cpu_per_io_us"], ".1f"), fmt(g["cpu_pct"], ".0f")] + \
            [fmt(g[k], ".2f") for k in ("iops_vs_c", "lat_mean_vs_c", "lat_p99_vs_c")]
        lines.append("| " + " | ".join(vals) + " |")
    return lines


def verdict(ok):
    return "met" if ok else "MISSED"


def single_path_invs(groups, backing, systems):
    """The single-path variants of the all-Rust or all-C runs (no mp=, clt= or srv=)."""
    return sorted({v for (s, v, b, _) in groups if s in systems and b == backing
                   and v.startswith("inv=") and "," not in v})


def targets(groups, backing):
    """The target lines of one backing: numbers, then met / MISSED."""
    def get(s, v, c, k="iops"):
        return groups.get((s, v, backing, c), {}).get(k)

    def quotient(r, c, ok, spec=",.0f", unit=""):
        if r is None or not c:
            return "no data"
        return f"{r:{spec}} / {c:{spec}}{unit} = {r / c:.2f} {verdict(ok(r / c))}"
    invs = single_path_invs(groups, backing, ("rnbd-rust", "rnbd-c"))
    cells4k = sorted({c for (_, _, b, c) in groups if b == backing and re.match("r[rw]4k", c)},
                     key=cell_key)
    out = ["", f"### {backing or '(none)'}", "", "1. Rust/C IOPS at QD32, target ≥ 1.10:"]
    out += [f"   - {c} {v}: " + quotient(get("rnbd-rust", v, c), get("rnbd-c", v, c),
                                         lambda q: q >= 1.10)
            for c in ("rr4k-qd32-j1", "rw4k-qd32-j1") for v in invs] or ["   - no data"]
    out.append("2. Rust/C completion latency at QD1, mean and p99, target ≤ 0.95:")
    for c in ("rr4k-qd1-j1", "rw4k-qd1-j1"):
        for v in invs:
            parts = [name + " " + quotient(get("rnbd-rust", v, c, k), get("rnbd-c", v, c, k),
                                           lambda q: q <= 0.95, ".1f", " µs")
                     for k, name in (("lat_mean_us", "mean"), ("lat_p99_us", "p99"))]
            nodata = all(p.endswith("no data") for p in parts)
            out.append(f"   - {c} {v}: " + ("no data" if nodata else "; ".join(parts)))
    if not invs:
        out.append("   - no data")
    out.append("3. always_invalidate cost 1 - IOPS(inv=Y)/IOPS(inv=N), Rust target ≤ 10%:")
    n = len(out)
    for c in cells4k:
        cost = {s: 100.0 * (1 - get(s, "inv=Y", c) / get(s, "inv=N", c))
                if get(s, "inv=Y", c) is not None and get(s, "inv=N", c) else None
                for s in ("rnbd-rust", "rnbd-c")}
        rust, cc = cost["rnbd-rust"], cost["rnbd-c"]
        if rust is not None or cc is not None:
            out.append(f"   - {c}: Rust " + ("no data" if rust is None else
                                            f"{rust:.1f}% {verdict(rust <= 10.0)}")
                       + "; C " + ("no data" if cc is None else f"{cc:.1f}%"))
    if len(out) == n:
        out.append("   - no data")
    out.append("4. Rust RNBD IOPS not below NVMe-oF on any 4 KiB cell:")
    for v in single_path_invs(groups, backing, ("rnbd-rust",)) or ["(none)"]:
        q = [(c, get("rnbd-rust", v, c), get("nvmeof", "", c)) for c in cells4k]
        q = [(c, r / nv) for c, r, nv in q if r is not None and nv]
        below = [f"{c} {x:.2f}" for c, x in q if x < 1.0]
        out.append(f"   - {v}: " + ("no data" if not q else
                   f"below on {len(below)} of {len(q)} cells: {verdict(not below)}"
                   + (" (" + ", ".join(below) + ")" if below else "")))
    return out


HOW_TO_READ = """\
## How to read

Each row is one system/variant on one backing and cell; *n* is the number of successful
repetitions. Figures are medians over those repetitions (latencies: each repetition's
percentile or mean, then the median of those). *spread* is (max − min) / median of the
IOPS: a large one means the run-to-run noise is larger than small differences between
rows. *CPU/IO* is the guest CPU time busy (all CPUs, client and server together) divided
by the IOs done, in µs; *CPU %* is the guest's busy share. *vs C* is this row's figure
divided by C RNBD's on the same backing and cell (same variant, else inv=Y, the C
default): above 1 is better for IOPS, below 1 is better for latency. The guest runs under
QEMU TCG (no KVM), so every figure is CPU-bound and far below hardware; compare rows with
each other, not with hardware numbers."""


def write_report(path, results, groups, ok, failed):
    backings = sorted({k[2] for k in groups}, key=lambda b: order_key(BACKING_ORDER, b))
    lines = ["# Benchmark report", "",
             f"Runs: {len(ok) + len(failed)} ({len(ok)} ok, {len(failed)} failed); "
             f"groups: {len(groups)}. Plots: iops-vs-qd.png, lat-cdf.png; all figures: bench.csv."]
    env = results / "env.txt"
    if env.is_file():
        lines += ["", "```", env.read_text().rstrip(), "```"]
    for b in backings:
        lines += ["", f"## {b or '(none)'}: {BACKING_TITLE.get(b, b)}", ""]
        lines += backing_table(groups, b)
    lines += ["", "## Targets"]
    rnbd = [b for b in backings if any(s in ("rnbd-rust", "rnbd-c") and b == kb
                                       for (s, _, kb, _) in groups)]
    for b in rnbd:
        lines += targets(groups, b)
    if not rnbd:
        lines += ["", "no data (no RNBD runs)"]
    lines += ["", f"## Failed runs ({len(failed)})", ""]
    if failed:
        lines += ["| system | variant | backing | cell | rep | error |",
                  "|---|---|---|---|---:|---|"]
        for r in failed:
            err = str(r.get("error") or "?").replace("|", "\\|")
            lines.append(f"| {r['system']} | {r['variant'] or '–'} | {r['backing'] or '–'} "
                         f"| {r['cell']} | {r.get('rep', '?')} | {err} |")
    else:
        lines.append("None.")
    lines += ["", HOW_TO_READ]
    text = "\n".join(lines) + "\n"
    path.write_text(text)
    return text


def plot_backing(keys, want):
    """The backing to plot: nullb if it has data for want(key), else the first that has."""
    have = sorted({k[2] for k in keys if want(k)}, key=lambda b: order_key(BACKING_ORDER, b))
    return have[0] if have else None


def series_style(system, variant, i):
    """Label, colour (by system), line (inv=Y dashed, one side in the other language
    dotted) and marker (by multipath policy)."""
    mp = re.search(r"mp=([\w-]+)", variant)
    ls = ":" if re.search(r"(clt|srv)=", variant) else "--" if "inv=Y" in variant else "-"
    return {"label": f"{system} {variant}".strip(), "ls": ls,
            "color": SYSTEM_COLOR.get(system, plt.cm.tab10((len(SYSTEM_ORDER) + i) % 10)),
            "marker": MP_MARKER.get(mp.group(1) if mp else "", "x")}


def no_data(ax, what):
    ax.text(0.5, 0.5, f"no data for {what}", ha="center", va="center", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def qd_series(groups, rw):
    """(backing, {(system, variant): [(queue depth, group)...]}) of the cells rw-qdN-j1."""
    backing = plot_backing(groups, lambda k: QD_CELL.match(k[3]) and groups[k]["iops"] is not None)
    series = {}
    for (s, v, b, c), g in groups.items():
        m = QD_CELL.match(c)
        if b == backing and m and m.group(1) == rw and g["iops"] is not None:
            series.setdefault((s, v), []).append((int(m.group(2)), g))
    for pts in series.values():
        pts.sort(key=lambda p: p[0])
    return backing, series


def plot_iops_vs_qd(path, groups):
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.5))
    handles = {}
    for ax, rw, title in zip(axes, ("rr4k", "rw4k"), ("4 KiB random read", "4 KiB random write")):
        backing, series = qd_series(groups, rw)
        if not series:
            no_data(ax, f"{title} (cells {rw}-qdN-j1)")
            continue
        for i, ((s, v), pts) in enumerate(series.items()):
            y = [g["iops"] for _, g in pts]
            err = [[g["iops"] - g["iops_min"] for _, g in pts],
                   [g["iops_max"] - g["iops"] for _, g in pts]]
            style = series_style(s, v, i)
            h = ax.errorbar([q for q, _ in pts], y, yerr=err, ms=4, capsize=3, **style)
            handles.setdefault(style["label"], h)
        qds = sorted({q for pts in series.values() for q, _ in pts})
        ax.set_xscale("log", base=2)
        # The local device is an order of magnitude above the networked systems.
        ax.set_yscale("log")
        ax.set_xticks(qds, [str(q) for q in qds])
        ax.set_title(f"{title}, {backing}")
        ax.set_xlabel("queue depth (1 job)")
        ax.set_ylabel("IOPS (median, bars min..max)")
        ax.grid(True, alpha=0.3)
    if handles:
        fig.legend(handles.values(), handles.keys(), loc="center right", fontsize="small")
        fig.tight_layout(rect=(0, 0, 0.8, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def cdf_bins(results, ok):
    """(backing, cell, {(system, variant): bins of all ok repetitions merged}) for the CDF."""
    fio_runs = [r for r in ok if r.get("kind") == "fio"]
    keys = {(r["system"], r["variant"], r["backing"], r["cell"]) for r in fio_runs}
    backing = plot_backing(keys, lambda k: "-qd1-" in k[3])
    cells = sorted({k[3] for k in keys if k[2] == backing and "-qd1-" in k[3]}, key=cell_key)
    cell = "rr4k-qd1-j1" if "rr4k-qd1-j1" in cells else (cells[0] if cells else None)
    series = {}
    for r in fio_runs:
        if r["backing"] == backing and r["cell"] == cell:
            with open(results / r["file"]) as f:
                bins = fio_bins(json.load(f))
            series.setdefault((r["system"], r["variant"]), Counter()).update(bins)
    return backing, cell, {k: v for k, v in sorted(series.items(), key=lambda kv: (
        order_key(SYSTEM_ORDER, kv[0][0]), kv[0][1])) if sum(v.values())}


def plot_lat_cdf(path, results, ok):
    backing, cell, series = cdf_bins(results, ok)
    fig, ax = plt.subplots(figsize=(10, 5.5))
    if not series:
        no_data(ax, "the latency CDF (no fio bins at queue depth 1)")
    for i, ((s, v), bins) in enumerate(series.items()):
        xs = sorted(bins)
        total, seen, ys = sum(bins.values()), 0, []
        for x in xs:
            seen += bins[x]
            ys.append(seen / total)
        ax.step([x / 1e3 for x in xs], ys, where="post", ms=4, markevery=0.1,
                **series_style(s, v, i))
    if series:
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda x, _: f"{x:g}"))
        ax.xaxis.set_minor_formatter(ticker.FuncFormatter(
            lambda x, _: f"{x:g}" if f"{x:e}"[0] in "25" else ""))
        ax.set_ylim(0, 1.0)
        ax.set_xlabel("completion latency (µs)")
        ax.set_ylabel("fraction of IOs")
        ax.set_title(f"Completion-latency CDF, {cell}, {backing} (all ok repetitions)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize="small")
        fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv):
    if len(argv) != 2:
        sys.exit("usage: bench_report.py RESULTS_DIR")
    results = Path(argv[1])
    ok, failed = load_runs(results)
    groups = summarise(ok, failed)
    write_csv(results / "bench.csv", groups)
    text = write_report(results / "report.md", results, groups, ok, failed)
    plot_iops_vs_qd(results / "iops-vs-qd.png", groups)
    plot_lat_cdf(results / "lat-cdf.png", results, ok)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
