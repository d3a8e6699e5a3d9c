"""Ingest benchmark: many centers, many patients, time and peak memory per center.

Run with ``make bench`` (defaults: 20 centers x 5,000 patients) or
``python -m tests.bench_ingest --centers 100 --patients 10000`` for the 1,000,000-patient run.
Each synthetic center is a copy of the site_a export shape (two UTF-8 CSV files) with
``--patients`` rows and fresh identifiers, mapped by a copy of the demo study's ``mappings/site_a.yaml``.

What it shows: time per center stays flat as centers are added (nothing quadratic in the
number of centers), and peak memory follows one center's size, not the pool's.
Not part of ``make test``: speed targets live here, not in timed unit tests.
"""
from __future__ import annotations

import argparse
import resource
import shutil
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
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--centers", type=int, default=20)
    parser.add_argument("--patients", type=int, default=5000, help="patients per center")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="harmonise-bench-"))
    inbox, mappings = work / "inbox", work / "mappings"
    mappings.mkdir()
    started = time.perf_counter()
    for i in range(args.centers):
        make_center(inbox, mappings, f"bench_{i:03d}", args.patients, seed=i)
    print(f"wrote {args.centers} centers x {args.patients} patients in {time.perf_counter() - started:.1f} s")
    settings = Settings(home=work / "home", inbox=inbox, mappings_dir=mappings, demo_key=True)
    steps.prepare_warehouse(settings)
    run_id, key = steps.new_run_id(), steps.pseudonym_key(settings)
    timings = []
    for center in steps.centers_to_run(settings):
        t0 = time.perf_counter()
        result = steps.ingest_center(center, settings, run_id, key)
        timings.append(time.perf_counter() - t0)
        assert result.status == "loaded", result.message
        print(f"{center}: {result.patients_loaded} patients, {result.rows_read} rows, "
              f"{timings[-1]:.2f} s, peak RSS {peak_rss_mb():.0f} MB")
    steps.refresh_views(settings)
    half = len(timings) // 2 or 1
    print(f"total {sum(timings):.1f} s for {args.centers * args.patients} patients; "
          f"mean per center: first half {np.mean(timings[:half]):.2f} s, "
          f"second half {np.mean(timings[half:]):.2f} s; peak RSS {peak_rss_mb():.0f} MB")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
