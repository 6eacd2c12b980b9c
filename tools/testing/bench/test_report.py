# SPDX-License-Identifier: GPL-2.0-or-later
"""Unit tests of scripts/bench_report.py on small synthetic results (make bench-report-test).

The fio reports are built here after the shape of real `fio --output-format=json+` output
with group_reporting: jobs[0] with read, write, trim and sync, each direction with
iops, bw_bytes, total_ios and clat_ns (mean, N, percentile, and bins in json+).
"""
import contextlib
import csv
import io
import json
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
SCRIPT = REPO / "scripts" / "bench_report.py"
sys.path.insert(0, str(SCRIPT.parent))
import bench_report  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def direction(iops=0.0, bins=None, mean_ns=0.0, pct=None, ios=None):
    """One direction of a fio job: bins {latency ns: count}; total_ios = sum of the bins."""
    bins = bins or {}
    ios = sum(bins.values()) if ios is None else ios
    clat = {"min": min(bins, default=0), "max": max(bins, default=0), "mean": mean_ns,
            "stddev": 0.0, "N": ios}
    if ios:
        clat["percentile"] = pct or {"50.000000": 0, "99.000000": 0, "99.900000": 0}
        if bins:
            clat["bins"] = {str(k): v for k, v in bins.items()}
    lat = {"min": 0, "max": 0, "mean": mean_ns, "stddev": 0.0, "N": ios}
    return {"io_bytes": ios * 4096, "io_kbytes": ios * 4, "bw_bytes": int(iops * 4096),
            "bw": int(iops * 4), "iops": float(iops), "runtime": 10000, "total_ios": ios,
            "short_ios": 0, "drop_ios": 0, "slat_ns": dict(lat), "clat_ns": clat, "lat_ns": lat}


def fio_report(read=None, write=None):
    job = {"jobname": "cell", "groupid": 0, "error": 0, "job options": {"name": "cell"},
           "read": read or direction(), "write": write or direction(), "trim": direction(),
           "sync": {"total_ios": 0, "lat_ns": {"min": 0, "max": 0, "mean": 0.0, "stddev": 0.0,
                                               "N": 0}},
           "usr_cpu": 1.0, "sys_cpu": 2.0}
    return {"fio version": "fio-3.33", "timestamp": 0, "jobs": [job], "disk_util": []}


class Results:
    """A results directory under construction: runs.jsonl and raw/ fio reports."""

    def __init__(self, root):
        self.root = Path(root)
        self.lines = []

    def fio(self, system, variant, backing, cell, rep, iops, bins=None, mean_ns=50000.0,
            busy=0.03, all_s=0.1, ok=True, error="", write_file=True):
        rel = f"raw/{system}/{variant or 'default'}/{backing}/{cell}.{rep}.json"
        d = direction(iops, bins or {50000: 1000}, mean_ns)
        if write_file:
            path = self.root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            rep_json = fio_report(write=d) if cell.startswith("rw") else fio_report(read=d)
            path.write_text(json.dumps(rep_json, indent=2))
        self.add(system=system, variant=variant, backing=backing, cell=cell, rep=rep, kind="fio",
                 file=rel, cpu_busy_s=busy, cpu_all_s=all_s, wall_s=10.1, ok=ok, error=error)

    def add(self, **rec):
        self.lines.append(json.dumps(rec))

    def write(self):
        (self.root / "runs.jsonl").write_text("\n".join(self.lines) + "\n")


def run_report(root):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = bench_report.main(["bench_report.py", str(root)])
    return rc, out.getvalue()


class ParseTest(unittest.TestCase):
    def test_percentile_from_bins(self):
        bins = {100: 50, 200: 40, 300: 9, 1000: 1}
        self.assertEqual(bench_report.percentile_from_bins(bins, 50), 100)
        self.assertEqual(bench_report.percentile_from_bins(bins, 90), 200)
        self.assertEqual(bench_report.percentile_from_bins(bins, 99), 300)
        self.assertEqual(bench_report.percentile_from_bins(bins, 99.9), 1000)
        self.assertIsNone(bench_report.percentile_from_bins({}, 50))

    def test_read_and_write_summed_and_bins_merged(self):
        r = direction(1000.0, {10000: 60, 30000: 0}, mean_ns=10000.0)
        w = direction(3000.0, {20000: 39, 90000: 1}, mean_ns=22000.0)
        m = bench_report.parse_fio(fio_report(r, w))
        self.assertAlmostEqual(m["iops"], 4000.0)
        self.assertEqual(m["bw_bytes"], 4000 * 4096)
        self.assertEqual(m["ios"], 100)
        # Merged bins: 60 at 10 us, 39 at 20 us, 1 at 90 us.
        self.assertAlmostEqual(m["lat_p50_us"], 10.0)
        self.assertAlmostEqual(m["lat_p99_us"], 20.0)
        self.assertAlmostEqual(m["lat_p999_us"], 90.0)
        # The mean weighted by each direction's IO count: (60*10 + 40*22) / 100.
        self.assertAlmostEqual(m["lat_mean_us"], 14.8)

    def test_percentiles_without_bins_from_the_bigger_direction(self):
        r = direction(10.0, ios=10, mean_ns=1000.0,
                      pct={"50.000000": 1000, "99.000000": 2000, "99.900000": 3000})
        w = direction(90.0, ios=90, mean_ns=5000.0,
                      pct={"50.000000": 5000, "99.000000": 7000, "99.900000": 9000})
        m = bench_report.parse_fio(fio_report(r, w))
        self.assertEqual((m["lat_p50_us"], m["lat_p99_us"], m["lat_p999_us"]), (5.0, 7.0, 9.0))
        self.assertAlmostEqual(m["lat_mean_us"], 4.6)

    def test_real_sample_agrees_with_fio(self):
        """Nearest rank over fio's own bins gives exactly fio's own percentiles."""
        rep = json.loads((Path(__file__).parent / "testdata/fio-randrw-json+.json").read_text())
        job = rep["jobs"][0]
        for d in ("read", "write"):
            clat = job[d]["clat_ns"]
            bins = {int(k): v for k, v in clat["bins"].items()}
            for key, ns in clat["percentile"].items():
                self.assertEqual(bench_report.percentile_from_bins(bins, float(key)), ns, (d, key))
        m = bench_report.parse_fio(rep)
        self.assertEqual(m["ios"], job["read"]["total_ios"] + job["write"]["total_ios"])
        p50 = sorted(job[d]["clat_ns"]["percentile"]["50.000000"] / 1e3 for d in ("read", "write"))
        self.assertTrue(p50[0] <= m["lat_p50_us"] <= p50[1])


class ReportTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = Path(self.tmp.name)
        r = Results(self.root)
        # Rust inv=N at QD32: IOPS 110k, 130k, 120k; CPU 20, 30, 40 us per IO (1000 IOs).
        for rep, (iops, busy) in enumerate([(110e3, 0.02), (130e3, 0.03), (120e3, 0.04)], 1):
            r.fio("rnbd-rust", "inv=N", "nullb", "rr4k-qd32-j1", rep, iops, busy=busy)
        # Failed runs: fio's error (a report with absurd figures), a set-up failure (no
        # file), and an "ok" run whose report is missing.
        r.fio("rnbd-rust", "inv=N", "nullb", "rr4k-qd32-j1", 4, 9e9, ok=False,
              error="fio reported an IO error")
        r.add(system="rnbd-rust", variant="inv=N", backing="nullb", cell="rr4k-qd32-j1", rep=5,
              kind="fio", ok=False, error="set-up failed: FAIL: map")
        r.fio("rnbd-rust", "inv=N", "nullb", "rw4k-qd32-j1", 1, 1e5, write_file=False)
        r.fio("rnbd-rust", "inv=Y", "nullb", "rr4k-qd32-j1", 1, 100e3)
        r.fio("rnbd-rust", "inv=N,mp=min-latency", "nullb", "rr4k-qd32-j1", 1, 140e3)
        r.fio("rnbd-c", "inv=N", "nullb", "rr4k-qd32-j1", 1, 100e3)
        r.fio("rnbd-c", "inv=Y", "nullb", "rr4k-qd32-j1", 1, 125e3)
        r.fio("nvmeof", "", "nullb", "rr4k-qd32-j1", 1, 150e3)
        r.fio("nvmeof", "", "nullb", "rr4k-qd1-j1", 1, 10e3)
        # QD1: Rust p99 per rep 90, 98, 120 us (median 98), mean 88, 90, 95 (median 90);
        # C: p99 100, mean 100.
        for rep, (p99, mean) in enumerate([(90000, 88000.0), (98000, 90000.0),
                                           (120000, 95000.0)], 1):
            r.fio("rnbd-rust", "inv=N", "nullb", "rr4k-qd1-j1", rep, 12e3,
                  bins={80000: 50, p99: 49, 200000: 1}, mean_ns=mean)
        r.fio("rnbd-c", "inv=N", "nullb", "rr4k-qd1-j1", 1, 11e3,
              bins={90000: 50, 100000: 49, 300000: 1}, mean_ns=100000.0)
        r.fio("local", "", "nullb-mem", "rr4k-qd32-j1", 1, 300e3)
        r.add(system="raw-verbs", variant="", backing="", cell="read-lat-4k", rep=1,
              kind="metrics", ios=10000, lat_p50_us=5.5, lat_mean_us=6.0, lat_p99_us=None,
              iops=166666, cpu_busy_s=0.5, cpu_all_s=2.0, ok=True, error="")
        r.write()
        self.rc, self.stdout = run_report(self.root)
        with open(self.root / "bench.csv") as f:
            self.csv = list(csv.DictReader(f))
        self.rows = {(x["system"], x["variant"], x["backing"], x["cell"]): x for x in self.csv}
        self.md = (self.root / "report.md").read_text()

    def tearDown(self):
        self.tmp.cleanup()

    def row(self, *key):
        return self.rows[key]

    def test_exit_and_stdout(self):
        self.assertEqual(self.rc, 0)
        self.assertEqual(self.stdout, self.md)

    def test_csv_columns_and_order(self):
        with open(self.root / "bench.csv") as f:
            header = next(csv.reader(f))
        self.assertEqual(header, bench_report.CSV_COLUMNS)
        self.assertIn("iops_spread_pct", header)
        order = [(x["backing"], x["cell"], x["system"], x["variant"]) for x in self.csv]
        self.assertEqual(order, [
            ("nullb", "rr4k-qd1-j1", "rnbd-rust", "inv=N"),
            ("nullb", "rr4k-qd1-j1", "rnbd-c", "inv=N"),
            ("nullb", "rr4k-qd1-j1", "nvmeof", ""),
            ("nullb", "rr4k-qd32-j1", "rnbd-rust", "inv=N"),
            ("nullb", "rr4k-qd32-j1", "rnbd-rust", "inv=N,mp=min-latency"),
            ("nullb", "rr4k-qd32-j1", "rnbd-rust", "inv=Y"),
            ("nullb", "rr4k-qd32-j1", "rnbd-c", "inv=N"),
            ("nullb", "rr4k-qd32-j1", "rnbd-c", "inv=Y"),
            ("nullb", "rr4k-qd32-j1", "nvmeof", ""),
            ("nullb", "rw4k-qd32-j1", "rnbd-rust", "inv=N"),
            ("nullb-mem", "rr4k-qd32-j1", "local", ""),
            ("", "read-lat-4k", "raw-verbs", ""),
        ])

    def test_median_spread_and_failed_excluded(self):
        g = self.row("rnbd-rust", "inv=N", "nullb", "rr4k-qd32-j1")
        self.assertEqual(g["reps"], "3")
        self.assertAlmostEqual(float(g["iops_median"]), 120e3)
        self.assertAlmostEqual(float(g["iops_min"]), 110e3)
        self.assertAlmostEqual(float(g["iops_max"]), 130e3)
        self.assertAlmostEqual(float(g["iops_spread_pct"]), 100 * 20 / 120, places=3)
        self.assertAlmostEqual(float(g["bw_mib_s"]), 120e3 * 4096 / 2**20, places=3)

    def test_cpu_per_io_and_percent(self):
        g = self.row("rnbd-rust", "inv=N", "nullb", "rr4k-qd32-j1")
        self.assertAlmostEqual(float(g["cpu_per_io_us"]), 30.0)
        self.assertAlmostEqual(float(g["cpu_pct"]), 30.0)
        raw = self.row("raw-verbs", "", "", "read-lat-4k")
        self.assertAlmostEqual(float(raw["cpu_per_io_us"]), 50.0)
        self.assertAlmostEqual(float(raw["cpu_pct"]), 25.0)

    def test_latency_medians_over_reps(self):
        g = self.row("rnbd-rust", "inv=N", "nullb", "rr4k-qd1-j1")
        self.assertAlmostEqual(float(g["lat_p50_us"]), 80.0)
        self.assertAlmostEqual(float(g["lat_p99_us"]), 98.0)
        self.assertAlmostEqual(float(g["lat_p999_us"]), 200.0)
        self.assertAlmostEqual(float(g["lat_mean_us"]), 90.0)
        self.assertAlmostEqual(float(g["lat_mean_vs_c"]), 0.9)
        self.assertAlmostEqual(float(g["lat_p99_vs_c"]), 0.98)

    def test_ratio_to_c(self):
        # Same variant when C has it, else C's default inv=Y, blank without C.
        def vs_c(system, variant, backing="nullb"):
            return self.row(system, variant, backing, "rr4k-qd32-j1")["iops_vs_c"]
        self.assertAlmostEqual(float(vs_c("rnbd-rust", "inv=N")), 1.2)
        self.assertAlmostEqual(float(vs_c("rnbd-rust", "inv=Y")), 0.8)
        self.assertAlmostEqual(float(vs_c("rnbd-rust", "inv=N,mp=min-latency")), 1.12)
        self.assertAlmostEqual(float(vs_c("nvmeof", "")), 1.2)
        self.assertAlmostEqual(float(vs_c("rnbd-c", "inv=N")), 1.0)
        self.assertEqual(vs_c("local", "", "nullb-mem"), "")

    def test_c_variant_of_mixed_runs(self):
        # A run with one side in C compares with the all-C run of the same settings.
        self.assertEqual(bench_report.c_variant("inv=N,srv=c"), "inv=N")
        self.assertEqual(bench_report.c_variant("inv=Y,clt=c,mp=round-robin"), "inv=Y,mp=round-robin")
        self.assertEqual(bench_report.c_variant("inv=N"), "inv=N")

    def test_metrics_run_absent_values_empty(self):
        raw = self.row("raw-verbs", "", "", "read-lat-4k")
        self.assertEqual(raw["lat_p99_us"], "")
        self.assertEqual(raw["bw_mib_s"], "")
        self.assertAlmostEqual(float(raw["lat_p50_us"]), 5.5)

    def test_failed_runs_counted_and_listed(self):
        self.assertIn("Runs: 18 (15 ok, 3 failed)", self.md)
        failed = self.md.split("## Failed runs (3)")[1].split("## How to read")[0]
        self.assertIn("| rnbd-rust | inv=N | nullb | rr4k-qd32-j1 | 4 | fio reported an IO error |",
                      failed)
        self.assertIn("| 5 | set-up failed: FAIL: map |", failed)
        self.assertIn("unreadable fio report raw/rnbd-rust/inv=N/nullb/rw4k-qd32-j1.1.json", failed)
        g = self.row("rnbd-rust", "inv=N", "nullb", "rw4k-qd32-j1")
        self.assertEqual((g["reps"], g["iops_median"]), ("0", ""))

    def test_table_formatting(self):
        self.assertIn("| rr4k-qd32-j1 | rnbd-rust | inv=N | 3 | 120,000 | ±17% | 468.8 |",
                      self.md)
        self.assertIn("| 80.0 | 98.0 | 200.0 |", self.md)
        self.assertIn("## nullb-mem:", self.md)
        self.assertIn("| 1.20 |", self.md)

    def test_targets(self):
        t = self.md.split("## Targets")[1].split("## Failed runs")[0]
        self.assertIn("rr4k-qd32-j1 inv=N: 120,000 / 100,000 = 1.20 met", t)
        self.assertIn("rr4k-qd32-j1 inv=Y: 100,000 / 125,000 = 0.80 MISSED", t)
        self.assertIn("rw4k-qd32-j1 inv=N: no data", t)
        self.assertIn("rr4k-qd1-j1 inv=N: mean 90.0 / 100.0 µs = 0.90 met; "
                      "p99 98.0 / 100.0 µs = 0.98 MISSED", t)
        self.assertIn("rr4k-qd32-j1: Rust 16.7% MISSED; C -25.0%", t)
        self.assertIn("inv=N: below on 1 of 2 cells: MISSED (rr4k-qd32-j1 0.80)", t)
        self.assertIn("inv=Y: below on 1 of 1 cells: MISSED (rr4k-qd32-j1 0.67)", t)
        self.assertNotIn("### nullb-mem", t)

    def test_plot_data(self):
        backing, series = bench_report.qd_series(bench_report.summarise(
            *bench_report.load_runs(self.root)), "rr4k")
        self.assertEqual(backing, "nullb")
        self.assertEqual([q for q, _ in series[("rnbd-rust", "inv=N")]], [1, 32])
        self.assertEqual([q for q, _ in series[("nvmeof", "")]], [1, 32])
        self.assertNotIn(("local", ""), series)  # nullb-mem only
        ok, _ = bench_report.load_runs(self.root)
        backing, cell, bins = bench_report.cdf_bins(self.root, ok)
        self.assertEqual((backing, cell), ("nullb", "rr4k-qd1-j1"))
        self.assertEqual(list(bins), [("rnbd-rust", "inv=N"), ("rnbd-c", "inv=N"), ("nvmeof", "")])
        # The three ok repetitions merged.
        self.assertEqual(bins[("rnbd-rust", "inv=N")],
                         {80000: 150, 90000: 49, 98000: 49, 120000: 49, 200000: 3})

    def test_pngs_written(self):
        for name in ("iops-vs-qd.png", "lat-cdf.png"):
            data = (self.root / name).read_bytes()
            self.assertEqual(data[:8], PNG_MAGIC, name)
            self.assertGreater(len(data), 10000, name)


class EdgeTest(unittest.TestCase):
    def run_cli(self, root):
        return subprocess.run([sys.executable, str(SCRIPT), str(root)], capture_output=True,
                              text=True, timeout=120)

    def test_missing_runs_jsonl(self):
        with tempfile.TemporaryDirectory() as d:
            p = self.run_cli(d)
            self.assertEqual(p.returncode, 1)
            self.assertIn("runs.jsonl is missing", p.stderr)
            self.assertFalse((Path(d) / "report.md").exists())

    def test_empty_runs_jsonl(self):
        with tempfile.TemporaryDirectory() as d:
            (Path(d) / "runs.jsonl").write_text("\n")
            p = self.run_cli(d)
            self.assertEqual(p.returncode, 1)
            self.assertIn("has no runs", p.stderr)

    def test_cdf_falls_back_to_another_qd1_cell(self):
        with tempfile.TemporaryDirectory() as d:
            r = Results(d)
            r.fio("rnbd-rust", "inv=N", "nullb-mem", "rr4k-qd32-j1", 1, 5e4)
            r.fio("rnbd-rust", "inv=N", "nullb-mem", "rw4k-qd1-j2", 1, 5e3, bins={7000: 3})
            r.write()
            ok, _ = bench_report.load_runs(Path(d))
            backing, cell, bins = bench_report.cdf_bins(Path(d), ok)
            self.assertEqual((backing, cell), ("nullb-mem", "rw4k-qd1-j2"))
            self.assertEqual(bins, {("rnbd-rust", "inv=N"): {7000: 3}})

    def test_no_plot_data_still_writes_pngs(self):
        with tempfile.TemporaryDirectory() as d:
            r = Results(d)
            r.add(system="raw-verbs", variant="", backing="", cell="write-bw-4k", rep=1,
                  kind="metrics", iops=None, ok=False, error="ib_write_bw failed")
            r.write()
            rc, out = run_report(d)
            self.assertEqual(rc, 0)
            self.assertIn("Runs: 1 (0 ok, 1 failed)", out)
            self.assertIn("no data (no RNBD runs)", out)
            for name in ("iops-vs-qd.png", "lat-cdf.png"):
                self.assertEqual((Path(d) / name).read_bytes()[:8], PNG_MAGIC, name)


if __name__ == "__main__":
    unittest.main()
