"""Report benchmark: ``harmonise report`` at the demo's size and at a million patients.

Run with ``make bench`` (the demo, cold and warm, and 100,000 patients) or
``python -m tests.bench_report --patients 1000000`` for the 1,000,000-patient run.

The large warehouse is the demo warehouse scaled in SQL: every demo patient copied with a
fresh key into 100 centers, its dates shifted by a few days per copy (so the curves have
thousands of distinct times, as real data would). Each report runs in its own process; its
wall time and peak memory (RSS, figure workers included) are printed. Targets (issue 11):
demo <= 3 s, 1,000,000 patients <= 20 s and <= 1 GB.
Not part of ``make test``: speed targets live here, not in timed unit tests.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

TABLES = ("patient", "treatment", "outcome", "adverse_event")
SHIFTED = {"outcome": ("progression_date", "death_date", "last_followup_date")}
"""Outcome dates shifted per copy (start dates kept): follow-up times differ by up to 39 days."""


def demo_warehouse(home: Path) -> Path:
    """The demo's warehouse, built by the pipeline (no Prefect)."""
    from harmonise.flows.settings import Settings
    from tests.conftest import ingest_all
    settings = Settings.demo(home=home)
    ingest_all(settings)
    return settings.warehouse


def scale(source: Path, target: Path, patients: int, centers: int = 100) -> int:
    """Copy ``source`` to ``target`` with ``patients`` patients (demo patients copied)."""
    shutil.copy(source, target)
    con = duckdb.connect(str(target))
    con.execute("SET enable_progress_bar = false")
    base = con.execute("SELECT count(*) FROM patient").fetchall()[0][0]
    copies = max(1, -(-patients // base))
    for table in TABLES:
        cols = [r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "ORDER BY ordinal_position", [table]).fetchall()]
        shifted = SHIFTED.get(table, ())
        select = ", ".join(
            f"'c' || (i % {centers}) AS center_id" if c == "center_id"
            else "patient_key || '-' || i AS patient_key" if c == "patient_key"
            else f"{c} - CAST((hash(patient_key, i) % 40) AS INTEGER) AS {c}" if c in shifted
            else c for c in cols)
        con.execute(f"CREATE TEMP TABLE big AS SELECT {select} FROM {table}, "
                    f"range({copies}) r(i)")
        con.execute(f"DELETE FROM {table}")
        con.execute(f"INSERT INTO {table} SELECT * FROM big")
        con.execute("DROP TABLE big")
    con.execute("DELETE FROM patient WHERE rowid >= ?", [patients])
    n = con.execute("SELECT count(*) FROM v_patient").fetchall()[0][0]
    con.execute("CHECKPOINT")
    con.close()
    return n


def in_child(function: str, *args) -> str:
    """Run ``tests.bench_report.<function>(*args)`` in a fresh process; its printed result.

    The warehouses are built in children so that this process stays small: a child's peak
    RSS as the kernel reports it starts from its parent's peak (the child is started with
    vfork and exec), so a big parent would be counted in every report's figure."""
    code = (f"import sys; from pathlib import Path; from tests import bench_report; "
            f"print(bench_report.{function}(*[Path(a) if '/' in a else int(a) "
            f"for a in sys.argv[1:]]))")
    done = subprocess.run([sys.executable, "-c", code, *map(str, args)], check=True,
                          capture_output=True, text=True)
    return done.stdout.strip().splitlines()[-1]


def timed_report(warehouse: Path, out: Path) -> tuple[float, float]:
    """(seconds, peak MB) of one report written by a fresh process."""
    code = ("import sys; from pathlib import Path; from harmonise.analysis.report import "
            "write_report; write_report(Path(sys.argv[1]), Path(sys.argv[2]))")
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", code, str(warehouse), str(out)])
    _, status, usage = os.wait4(child.pid, 0)   # this child's own peak (figure workers included)
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise subprocess.CalledProcessError(child.returncode, child.args)
    return seconds, usage.ru_maxrss / 1024


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--patients", type=int, default=100_000,
                    help="size of the scaled warehouse (1000000 for the issue's target)")
    args = ap.parse_args(argv)
    os.environ.setdefault("HARMONISE_HOME", tempfile.mkdtemp(prefix="bench-report-home-"))
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        tmp = Path(tmp)
        demo = Path(in_child("demo_warehouse", tmp / "demo"))
        print(f"{'report of':<28}{'patients':>10}{'seconds':>10}{'peak MB':>10}  target")
        s, mb = timed_report(demo, tmp / "demo-report")
        print(f"{'demo, cold':<28}{79:>10}{s:>10.1f}{mb:>10.0f}  <= 3 s")
        s, mb = timed_report(demo, tmp / "demo-report")
        print(f"{'demo, unchanged figures':<28}{79:>10}{s:>10.1f}{mb:>10.0f}  <= 3 s")
        big = tmp / "big.duckdb"
        t0 = time.perf_counter()
        n = int(in_child("scale", demo, big, args.patients))
        print(f"  (scaled warehouse of {n:,} patients built in {time.perf_counter() - t0:.1f} s)")
        s, mb = timed_report(big, tmp / "big-report")
        target = "<= 20 s, <= 1024 MB" if n >= 1_000_000 else "(1,000,000: <= 20 s, 1 GB)"
        print(f"{'scaled, cold':<28}{n:>10,}{s:>10.1f}{mb:>10.0f}  {target}")


if __name__ == "__main__":
    main()
