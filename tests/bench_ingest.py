"""Ingest benchmark, side by side: harmonise vs DuckDB's own load of the same files, the no-op run.

Run with ``make bench`` (defaults: 20 centers x 10,000 patients, a few minutes) or
``python -m tests.bench_ingest --million`` (100 x 10,000 = 1,000,000 patients). Each
synthetic center is a copy of the site_a export shape (two UTF-8 CSV files) with
``--patients`` rows and fresh identifiers, mapped by a copy of the demo study's
``mappings/site_a.yaml``. Every figure is measured in its own fresh process (imports
included where a user would pay them), with that process's peak memory:

- raw DuckDB: ``CREATE TABLE ... AS FROM read_csv(...)`` of every file, one process;
- harmonise ingest: read, map, validate (both cores) and load every center;
- no-op: the run when every center is unchanged (``harmonise run``'s path: hashes, log);
- demo no-op: ``harmonise run --demo`` itself, on the demo, with its report written.
- sql: ``harmonise sql "SELECT * FROM adverse_event"`` on the ingested warehouse (the first
  40 rows and the count of the rest), from process start.

Ingest vs raw compares the work itself (``work_s``: imports excluded, as DuckDB's are),
the median of ``--repeat`` runs of each (default 3), alternated so that a minute of a slower
machine slows both; the no-op figures are wall time from process start, as a user sees them.

Not part of ``make test``: speed targets live here, not in timed unit tests.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from harmonise.flows import steps
from harmonise.flows.settings import DEMO_INBOX, DEMO_MAPPINGS, Settings


def make_center(inbox: Path, mappings: Path, center: str, patients: int, seed: int) -> None:
    """Write one synthetic center of ``patients`` rows in the site_a shape."""
    rng = np.random.default_rng(seed)
    base = pd.read_csv(DEMO_INBOX / "site_a" / "site_a_patients.csv", dtype=str, keep_default_na=False)
    events = pd.read_csv(DEMO_INBOX / "site_a" / "site_a_adverse_events.csv", dtype=str,
                         keep_default_na=False)
    pick = rng.integers(0, len(base), patients)
    rows = base.iloc[pick].reset_index(drop=True)
    new_ids = pd.Series([f"{center.upper()}-{i:08d}" for i in range(patients)])
    rows["MRN"] = new_ids
    rows["Patient name"] = "X"
    rows["Phone"] = "0"
    link = pd.DataFrame({"new": new_ids, "old": base.MRN.iloc[pick].to_numpy()})
    ae = link.merge(events, left_on="old", right_on="MRN").drop(columns=["MRN", "old"])
    ae = ae.rename(columns={"new": "MRN"})[events.columns]
    folder = inbox / center
    folder.mkdir(parents=True)
    rows.to_csv(folder / "site_a_patients.csv", index=False)
    ae.to_csv(folder / "site_a_adverse_events.csv", index=False)
    text = (DEMO_MAPPINGS / "site_a.yaml").read_text(encoding="utf-8")
    (mappings / f"{center}.yaml").write_text(text.replace("center: site_a", f"center: {center}"),
                                             encoding="utf-8")


def peak_rss_mb() -> float:
    """Peak memory of this process plus its largest finished child (a pool worker), MB."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own_peak_kb() + children) / 1024


def own_peak_kb() -> int:
    """This process's own peak resident memory, KB. Not ``ru_maxrss``: a started process
    inherits its parent's peak there (the benchmark's, which made the data), across exec too;
    Linux's ``VmHWM`` is the process's own."""
    try:
        status = Path("/proc/self/status").read_text()
        return int(status.split("VmHWM:")[1].split()[0])
    except (OSError, IndexError, ValueError):      # not Linux: the inherited figure, an upper bound
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _settings(work: Path) -> Settings:
    return Settings(home=work / "home", inbox=work / "inbox", mappings_dir=work / "mappings",
                    demo_key=True)


def phase_raw(work: Path) -> None:
    import duckdb
    with duckdb.connect(str(work / "raw.duckdb")) as con:
        for i, path in enumerate(sorted((work / "inbox").glob("*/*.csv"))):
            con.execute(f"CREATE TABLE t{i} AS FROM read_csv('{path}')")


def phase_ingest(work: Path) -> None:
    settings = _settings(work)
    with steps.CenterWorkers() as pool:     # as the nightly flow: builders start first
        steps.prepare_warehouse(settings)
        results = pool.ingest_all(steps.centers_to_run(settings), settings, steps.new_run_id(),
                                  steps.pseudonym_key(settings))
    assert all(r.status == "loaded" for r in results), [r.message for r in results]
    steps.refresh_views(settings)
    report = settings.report_dir / "report.html"   # the no-op path needs a written report
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text("<p>benchmark: the report is timed by the report benchmark</p>")


def phase_noop(work: Path) -> None:
    results = steps.run_if_unchanged(_settings(work), None)
    assert results and all(r.status == "skipped" for r in results), results


def phase_demo_noop(work: Path) -> None:
    from harmonise.flows.cli import app
    try:
        app(["run", "--demo", "--quiet"])
    except SystemExit as done:
        assert not done.code, done.code


PHASES = {"raw": phase_raw, "ingest": phase_ingest, "noop": phase_noop, "demo-noop": phase_demo_noop}

SQL_QUERY = "SELECT * FROM adverse_event"


def timed_sql(work: Path) -> dict:
    """``harmonise sql SQL_QUERY`` as an analyst runs it, in a process of its own, from its start:
    the first 40 rows and the count of the rest; its own peak memory (``VmHWM``, Linux, as in
    ``own_peak_kb``)."""
    code = ("import atexit, sys; atexit.register(lambda: print('peak_kb', open('/proc/self/"
            "status').read().split('VmHWM:')[1].split()[0], file=sys.stderr)); "
            "from harmonise.flows.cli import app; app(sys.argv[1:], prog_name='harmonise')")
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, "sql", SQL_QUERY, "--warehouse",
                           str(_settings(work).warehouse)], capture_output=True, text=True,
                          timeout=600)
    seconds = time.perf_counter() - began
    if done.returncode or "rows in all" not in done.stdout:
        raise SystemExit(f"harmonise sql failed:\n{(done.stdout + done.stderr)[-3000:]}")
    return {"seconds": seconds, "peak_mb": int(done.stderr.split("peak_kb ")[-1].split()[0]) / 1024}


def timed(phase: str, work: Path, env: dict | None = None) -> dict:
    """Run one phase in a fresh process: wall time from process start (``seconds``), the time
    of the work itself (``work_s``, imports excluded) and its peak memory."""
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "tests.bench_ingest", "--phase", phase,
                           "--work", str(work)], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=7200)
    seconds = time.perf_counter() - began
    if done.returncode:
        raise SystemExit(f"phase {phase} failed:\n{done.stderr[-3000:]}")
    return {"seconds": seconds, **json.loads(done.stdout.strip().splitlines()[-1])}


def alternated(work: Path, repeat: int) -> tuple[dict, dict]:
    """DuckDB's raw load and the ingest, ``repeat`` times each, one after the other (so a
    machine that slows down for a minute slows both): the median run of each, with the
    spread of its ``work_s`` (``low``, ``high``)."""
    runs = {"raw": [], "ingest": []}
    for _ in range(max(1, repeat)):
        shutil.rmtree(work / "home", ignore_errors=True)
        (work / "raw.duckdb").unlink(missing_ok=True)
        for phase in runs:
            runs[phase].append(timed(phase, work))
    out = []
    for phase, done in runs.items():
        done = sorted(done, key=lambda r: r["work_s"])
        out.append({**done[len(done) // 2], "low": done[0]["work_s"], "high": done[-1]["work_s"]})
    return out[0], out[1]


def prepare_demo(work: Path) -> dict:
    """A home holding the demo's warehouse and report, as after a first ``harmonise run --demo``."""
    home = work / "demo_home"
    settings = Settings.demo(home=home)
    steps.prepare_warehouse(settings)
    run_id, key = steps.new_run_id(), steps.pseudonym_key(settings)
    for center in steps.centers_to_run(settings):
        steps.ingest_center(center, settings, run_id, key)
    steps.refresh_views(settings)
    steps.write_report(settings)
    return {"HARMONISE_HOME": str(home)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--centers", type=int, default=20)
    parser.add_argument("--patients", type=int, default=10000, help="patients per center")
    parser.add_argument("--million", action="store_true", help="100 centers x 10,000 patients")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of raw DuckDB and of the ingest, alternated (medians shown)")
    parser.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        import duckdb  # noqa: F401  (imports are not the work being timed...)
        import harmonise.pipeline.pool  # noqa: F401
        began = time.perf_counter()
        PHASES[args.phase](args.work)
        print(json.dumps({"work_s": time.perf_counter() - began, "peak_mb": peak_rss_mb()}))
        return
    if args.million:
        args.centers, args.patients = 100, 10000
    work = Path(tempfile.mkdtemp(prefix="harmonise-bench-"))
    (work / "mappings").mkdir()
    started = time.perf_counter()
    for i in range(args.centers):
        make_center(work / "inbox", work / "mappings", f"bench_{i:03d}", args.patients, seed=i)
    rows = sum(sum(1 for _ in p.open()) - 1 for p in (work / "inbox").glob("*/*.csv"))
    print(f"wrote {args.centers} centers x {args.patients:,} patients ({rows:,} CSV rows) "
          f"in {time.perf_counter() - started:.1f} s; {os.cpu_count()} cores")
    raw, ingest = alternated(work, args.repeat)
    noop = timed("noop", work)
    sql = timed_sql(work)
    demo = timed("demo-noop", work, prepare_demo(work))
    size = f"{args.centers} x {args.patients:,}"
    print(f"{'work':<42}{'harmonise':>11}{'raw DuckDB':>12}{'ratio':>8}{'peak MB':>16}")
    print(f"{'ingest ' + size + ' (site_a shape)':<42}{ingest['work_s']:>10.1f}s{raw['work_s']:>11.1f}s"
          f"{ingest['work_s'] / raw['work_s']:>7.1f}x{ingest['peak_mb']:>8.0f} / {raw['peak_mb']:.0f}")
    spread = [f"{r['low']:.1f}-{r['high']:.1f}s" for r in (ingest, raw)]
    print(f"{'  all runs, fastest-slowest':<42}{spread[0]:>11}{spread[1]:>12}"
          f"   (medians above: {args.repeat} runs each, alternated)")
    print(f"{'  the same, from process start':<42}{ingest['seconds']:>10.1f}s{raw['seconds']:>11.1f}s"
          f"{ingest['seconds'] / raw['seconds']:>7.1f}x")
    print(f"{'no-op run, ' + size + ' (all unchanged)':<42}{noop['seconds']:>10.1f}s{'':>12}{'':>8}"
          f"{noop['peak_mb']:>16.0f}")
    label = f"harmonise sql: {SQL_QUERY}"
    print(f"{label:<42}{sql['seconds']:>10.1f}s{'':>12}{'':>8}"
          f"{sql['peak_mb']:>16.0f}")
    print(f"{'harmonise run --demo, nothing changed':<42}{demo['seconds']:>10.1f}s{'':>12}{'':>8}"
          f"{demo['peak_mb']:>16.0f}")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
