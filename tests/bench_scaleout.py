"""Scale-out benchmark: centers loaded per minute into a DuckLake by one and by two workers.

Run by ``make bench`` after the ingest benchmark (defaults: 8 centers x 2,000 patients), or
``python -m tests.bench_scaleout --centers 16 --patients 5000``. The same synthetic centers
(the site_a shape, :func:`tests.bench_ingest.make_center`) are loaded three times, each into a
fresh warehouse: the embedded file by one process (the reference), then a DuckLake on a
private PostgreSQL cluster by one worker process, then by two worker processes taking every
other center, loading at the same time. A worker is a separate process, as a hospital's
Prefect worker is; each starts (imports, extension loading, catalog attach) before the clock
starts, so the figure is load throughput. Needs Debian's ``postgresql``.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import shutil
import tempfile
import time
from pathlib import Path

from harmonise.flows import steps
from harmonise.flows.settings import Settings
from tests.bench_ingest import make_center
from tests.pg_cluster import PostgresCluster


def _worker(options: dict, centers: list[str], run_id: str, start, done) -> None:
    """One worker: get ready, wait for the start signal, load its centers one after another."""
    settings = Settings(**options)
    key = steps.pseudonym_key(settings)
    settings.backend.connect(read_only=True).close()       # extensions loaded, catalog attached
    start.wait()
    for center in centers:
        result = steps.ingest_center(center, settings, run_id, key, force=True)
        if result.status != "loaded":
            raise SystemExit(f"{center}: {result.status} {result.message}")
    done.put(len(centers))


def timed_load(options: dict, centers: list[str], workers: int) -> float:
    """Seconds for ``workers`` processes to load every center (prepared warehouse first)."""
    settings = Settings(**options)
    run_id = steps.new_run_id()
    steps.prepare_warehouse(settings, run_id)
    context = mp.get_context("spawn")
    start, done = context.Barrier(workers + 1), context.Queue()
    shares = [centers[i::workers] for i in range(workers)]
    processes = [context.Process(target=_worker, args=(options, share, run_id, start, done))
                 for share in shares]
    for process in processes:
        process.start()
    start.wait()
    began = time.perf_counter()
    loaded = sum(done.get(timeout=3600) for _ in processes)
    elapsed = time.perf_counter() - began
    for process in processes:
        process.join(timeout=60)
        if process.exitcode != 0:
            raise SystemExit(f"a worker failed (exit {process.exitcode})")
    assert loaded == len(centers)
    with settings.backend.connect(read_only=True) as con:
        stored = con.execute("SELECT count(DISTINCT center_id) FROM patient").fetchone()[0]
    assert stored == len(centers), (stored, len(centers))
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--centers", type=int, default=8)
    parser.add_argument("--patients", type=int, default=2000, help="patients per center")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="harmonise-bench-scaleout-"))
    inbox, mappings = work / "inbox", work / "mappings"
    mappings.mkdir()
    centers = [f"bench_{i:03d}" for i in range(args.centers)]
    for i, center in enumerate(centers):
        make_center(inbox, mappings, center, args.patients, seed=i)
    common = {"inbox": inbox, "mappings_dir": mappings, "demo_key": True}
    cluster = PostgresCluster().start()
    try:
        runs = [("embedded file", 1, {**common, "home": work / "embedded"})]
        for workers in (1, 2):
            runs.append((f"DuckLake, {workers} worker{'s' if workers > 1 else ''}", workers,
                         {**common, "home": work / f"lake{workers}", "storage": "ducklake",
                          "lake_catalog": cluster.new_database(f"bench{workers}"),
                          "lake_data_path": work / f"lake{workers}" / "data"}))
        figures = [(label, timed_load(options, centers, workers)) for label, workers, options in runs]
    finally:
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nscale-out: {args.centers} centers x {args.patients} patients, same data each time")
    print(f"{'warehouse':<22}{'seconds':>10}{'centers/min':>14}")
    for label, seconds in figures:
        print(f"{label:<22}{seconds:>10.1f}{args.centers / seconds * 60:>14.1f}")
    one, two = figures[1][1], figures[2][1]
    print(f"two workers vs one on DuckLake: {one / two:.2f}x")


if __name__ == "__main__":
    main()
