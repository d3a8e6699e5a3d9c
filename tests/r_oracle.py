"""Run R's survival package on survival jobs and read its answers back (tests only).

One ``Rscript`` call per dataset: every job (a set of subjects with time, event, group and
stratum) and every binomial count goes through CSV files in a temporary folder to
``tests/r_oracle.R``, which writes survfit (all three ``conf.type``), ``summary(...,
times=)``, survdiff (with and without ``strata``), ``coxph(... + strata)`` (Efron) and
``binom.test`` results back as CSV.

Where ``Rscript`` is missing the caller's test is skipped with the reason, except in CI
(``CI=true``), where a missing R is a failure: the oracle must run there.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SCRIPT = Path(__file__).with_name("r_oracle.R")
OUTPUTS = ("km", "median", "landmark", "logrank", "oe", "cox")


@dataclass(frozen=True)
class Job:
    """Subjects of one R run: ``levels`` order the groups, the first is Cox's reference."""

    name: str
    time: np.ndarray
    event: np.ndarray
    group: np.ndarray
    levels: tuple
    stratum: np.ndarray | None = None
    landmarks: tuple = field(default_factory=tuple)

    def frame(self) -> pd.DataFrame:
        n = len(self.time)
        return pd.DataFrame({
            "job": self.name, "time": np.asarray(self.time, float),
            "event": np.asarray(self.event, bool).astype(int),
            "group": np.asarray(self.group, object).astype(str),
            "stratum": (np.full(n, "all", object) if self.stratum is None
                        else np.asarray(self.stratum, object).astype(str))})


def rscript() -> str:
    """Path of ``Rscript``: skip without it, fail in CI (``CI=true``)."""
    path = shutil.which("Rscript")
    if path:
        return path
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail("Rscript not found, but CI=true: .ci/run installs r-base-core and "
                    "r-cran-survival; the R oracle must run in CI")
    pytest.skip("R is not installed (apt-get install r-base-core r-cran-survival): "
                "the R oracle comparisons need Rscript")


def run(jobs: list[Job], binom: list[tuple[str, int, int]] = ()) -> dict[str, pd.DataFrame]:
    """Run R once on ``jobs`` and ``binom`` (id, successes, n); return each output frame
    (:data:`OUTPUTS`, ``binom``) plus ``version`` (text, e.g. "R version 4.2.2; survival 3.5.3")."""
    exe = rscript()
    with tempfile.TemporaryDirectory(prefix="r-oracle-") as tmp:
        folder = Path(tmp)
        pd.concat([j.frame() for j in jobs], ignore_index=True).to_csv(
            folder / "data.csv", index=False, na_rep="NA")
        pd.DataFrame({"job": [j.name for j in jobs],
                      "levels": ["|".join(map(str, j.levels)) for j in jobs],
                      "landmarks": ["|".join(f"{m:.17g}" for m in j.landmarks) for j in jobs]}
                     ).to_csv(folder / "jobs.csv", index=False)
        pd.DataFrame(list(binom), columns=["id", "x", "n"]).to_csv(folder / "binom.csv",
                                                                   index=False)
        done = subprocess.run([exe, "--vanilla", str(SCRIPT), str(folder)], capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, f"Rscript failed:\n{done.stderr[-3000:]}"
        out = {name: pd.read_csv(folder / f"{name}.csv", keep_default_na=True,
                                 dtype={"job": str, "group": str})
               for name in OUTPUTS}
        out["binom"] = pd.read_csv(folder / "binom_out.csv", dtype={"id": str})
        out["version"] = (folder / "version.txt").read_text().strip()
    return out


def one(frame: pd.DataFrame, **where) -> pd.Series:
    """The single row of ``frame`` matching ``where`` (column = value)."""
    mask = np.ones(len(frame), bool)
    for col, value in where.items():
        mask &= (frame[col] == value).to_numpy()
    rows = frame[mask]
    assert len(rows) == 1, f"expected one R row for {where}, got {len(rows)}"
    return rows.iloc[0]


def r_value(x) -> float | None:
    """R's NA as None, numbers as float."""
    return None if pd.isna(x) else float(x)
