"""The Prefect artifacts of a run, under stable keys so the Prefect UI keeps their history.

- ``harmonise-run-summary`` (table): per center status, rows read / loaded / quarantined,
  patients, seconds.
- ``harmonise-data-quality`` (markdown): per center what is new, persisting and resolved in
  the quarantine since the last run (warehouse/quality.py).

Artifact keys may hold only lowercase letters, numbers and dashes.
"""
from __future__ import annotations

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from harmonise.warehouse import quality

SUMMARY_KEY = "harmonise-run-summary"
QUALITY_KEY = "harmonise-data-quality"


def summary_rows(results) -> list[dict]:
    return [{"center": r.center, "status": r.status, "rows read": r.rows_read,
             "rows loaded": r.rows_loaded, "rows quarantined": r.rows_quarantined,
             "patients": r.patients_loaded,
             "seconds": None if r.seconds is None else round(r.seconds, 1)} for r in results]


def publish_summary(results, run_id: str) -> None:
    failed = [r.center for r in results if r.status == "failed"]
    outcome = f"{len(failed)} of {len(results)} centers failed: {', '.join(failed)}" if failed \
        else f"all {len(results)} centers loaded or unchanged"
    create_table_artifact(table=summary_rows(results), key=SUMMARY_KEY,
                          description=f"harmonise run {run_id}: {outcome}.")


def publish_quality(centers: list[quality.CenterQuality], run_id: str) -> None:
    new = sum(c.count("new") for c in centers)
    resolved = sum(c.count("resolved") for c in centers)
    create_markdown_artifact(markdown=quality.markdown(centers), key=QUALITY_KEY,
                             description=f"harmonise run {run_id}: {new} new and {resolved} "
                                         "resolved quarantine findings.")
