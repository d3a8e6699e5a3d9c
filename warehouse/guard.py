"""The guard against silent loss: a load that would wipe most of a center fails instead.

A center's new export replaces all of its previous rows. When the export is broken in a
way every row survives structurally (every date rewritten DD/MM/YYYY, a column shifted),
each row is quarantined and the center would go from 52 patients to 0 with a ✓. So a load
is refused, and the previous rows kept, when

- no patient at all would be loaded from an export that has rows (always), or
- it would remove more than ``max_drop`` (a fraction, from the project configuration) of
  the patients the center has now.

A data manager who knows the drop is real (a center withdrew patients) confirms it with
``--accept-drop``.
"""
from __future__ import annotations

from collections import Counter

import duckdb

from harmonise.warehouse.loader import LoadBatch


def stored_patients(con: duckdb.DuckDBPyConnection, center_id: str) -> int:
    """How many patients the center has in the warehouse now."""
    return con.execute("SELECT count(*) FROM patient WHERE center_id = ?", [center_id]).fetchone()[0]


def refusal(batch: LoadBatch, previous: int, max_drop: float) -> str | None:
    """Why this load must not replace the center's ``previous`` patients, or None if it may."""
    patient = batch.clean.get("patient")
    new = 0 if patient is None else len(patient)
    read = sum(batch.rows_read.values())
    if new > 0 and (previous == 0 or (previous - new) / previous <= max_drop):
        return None
    if new == 0 and read == 0 and previous == 0:
        return None
    lost = f"replace the center's {previous} patients with {new}" if previous else \
        f"load 0 of the {read} rows read"
    why = "every patient row was quarantined" if new == 0 else \
        f"{previous - new} of {previous} patients ({(previous - new) / previous:.0%}) would " \
        f"disappear; the project allows at most {max_drop:.0%}"
    return (f"center {batch.center_id}: this load would {lost} ({why}; "
            f"{_quarantined_rows(batch)} rows quarantined{_top_problems(batch)}). Nothing was "
            f"changed: the previous {previous} patients stay loaded. Fix the export or the mapping "
            f"and run again; if the drop is real, confirm it with `harmonise ingest "
            f"{batch.center_id} --accept-drop`.")


def _quarantined_rows(batch: LoadBatch) -> int:
    q = batch.quarantine
    if q is None or q.empty:
        return 0
    return q.dropna(subset=["source_row"]).drop_duplicates(["source_file", "source_row"]).shape[0]


def _top_problems(batch: LoadBatch, n: int = 3) -> str:
    """The most frequent rule and column among the quarantined rows (never a value)."""
    q = batch.quarantine
    if q is None or q.empty:
        return ""
    counts = Counter(zip(q["source_column"].fillna(q["column_name"]).fillna("?").astype(str),
                         q["check_name"].fillna("?").astype(str)))
    shown = "; ".join(f"column '{column[:80]}' fails {check[:80]} in {count} rows"
                      for (column, check), count in counts.most_common(n))
    return f"; most frequent: {shown}"
