"""The plain functions the flows call, each usable and tested without Prefect.

``ingest_center`` is one center's whole pipeline: mapping file -> export -> canonical frames
-> validation -> one-transaction load -> audit record. A structural problem (bad mapping,
unreadable file, undeclared or missing column) fails that center alone, is logged in
``load_log`` and comes back as a ``CenterResult`` with status ``failed``. Transient I/O
errors (``OSError``, a locked warehouse) propagate so the flow can retry them.
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import pandas as pd

from flows.settings import Settings
from mappings.engine import map_center
from mappings.errors import CenterError
from mappings.pseudonym import key_fingerprint, load_key
from mappings.spec import list_centers, load_mapping
from schemas.validate import validate_center
from warehouse import store
from warehouse.loader import LoadBatch, load_center, log_attempt


@dataclass
class CenterResult:
    """What happened to one center in one run: the line of the summary table."""

    center: str
    status: str                 # loaded | failed
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    patients_loaded: int = 0
    message: str | None = None


def new_run_id() -> str:
    """A unique id for one run, sortable by time (``20261121T020000-1a2b3c``)."""
    return f"{dt.datetime.now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def centers_to_run(settings: Settings, only: list[str] | None = None) -> list[str]:
    """The centers with a mapping file, or ``only`` those asked for."""
    return list(only) if only else list_centers(settings.mappings_dir)


def prepare_warehouse(settings: Settings) -> None:
    """Create tables, write reference codes and the cut-off, refresh the views."""
    with store.connect(settings.warehouse) as con:
        store.prepare(con, settings.cutoff)


def refresh_views(settings: Settings) -> None:
    """Recreate the analysis views (after loads, so analysts see the new rows)."""
    with store.connect(settings.warehouse) as con:
        store.refresh_views(con)


def build_batch(center: str, settings: Settings, key: bytes) -> LoadBatch:
    """Map and validate one center (no warehouse access): the rows to load and to quarantine."""
    mapping = load_mapping(center, settings.mappings_dir)
    mapped = map_center(mapping, settings.inbox, key)
    cutoff = pd.Timestamp(settings.cutoff)
    validated = validate_center(center, mapped.frames, cutoff, mapped.issues)
    quarantine = explain_source_columns(validated.quarantine, mapped.source_columns)
    return LoadBatch(
        center_id=center, clean=validated.clean, quarantine=quarantine,
        file_hashes={f.name: f.sha256 for f in mapped.files},
        rows_read={f.name: f.rows_read for f in mapped.files},
        mapping_version=mapping.version, mapping_sha256=mapping.sha256,
        key_fingerprint=key_fingerprint(key), cutoff=settings.cutoff)


def explain_source_columns(quarantine: pd.DataFrame, sources: dict) -> pd.DataFrame:
    """Fill ``source_column`` (the export's header) where validation only knew the canonical one."""
    if quarantine.empty:
        return quarantine
    out = quarantine.copy()
    known = [sources.get((t, c)) for t, c in zip(out["table_name"], out["column_name"])]
    out["source_column"] = out["source_column"].where(out["source_column"].notna(),
                                                      pd.Series(known, index=out.index))
    return out


def pseudonym_key(settings: Settings) -> bytes:
    """The run's pseudonymisation key (raises ``PseudonymKeyError`` with what to do)."""
    return load_key(demo=settings.demo_key)


def ingest_center(center: str, settings: Settings, run_id: str, key: bytes) -> CenterResult:
    """Map, validate and load one center; a structural problem fails this center only."""
    started = dt.datetime.now()
    try:
        batch = build_batch(center, settings, key)
    except CenterError as err:
        record_failure(center, settings, run_id, started, err.message, file_name=err.file)
        return CenterResult(center, "failed", message=err.message)
    with store.connect(settings.warehouse) as con:
        loaded = load_center(con, batch)
        log_attempt(con, run_id=run_id, center_id=center, status="loaded", started_at=started,
                    finished_at=dt.datetime.now(), batch=batch)
    rows_read = sum(batch.rows_read.values())
    quarantined = batch.quarantine.dropna(subset=["source_row"]).drop_duplicates(
        ["source_file", "source_row"]).shape[0]
    return CenterResult(center, "loaded", rows_read=rows_read, rows_loaded=rows_read - quarantined,
                        rows_quarantined=quarantined, patients_loaded=loaded["patient"])


def failed_after_retries(center: str, settings: Settings, run_id: str, started: dt.datetime,
                         message: str | None) -> CenterResult:
    """A center whose task kept failing (e.g. the file stayed unreadable): log it, move on."""
    text = f"center {center}: the load failed after retries: {message}. Check that the export " \
           "is complete and the warehouse is not held by another program, then run again."
    record_failure(center, settings, run_id, started, text)
    return CenterResult(center, "failed", message=text)


def record_failure(center: str, settings: Settings, run_id: str, started: dt.datetime,
                   message: str, file_name: str | None = None) -> None:
    """Append a failed attempt to ``load_log`` (the center's previous rows stay as they were)."""
    with store.connect(settings.warehouse) as con:
        log_attempt(con, run_id=run_id, center_id=center, status="failed", started_at=started,
                    finished_at=dt.datetime.now(), message=message, file_name=file_name,
                    cutoff=settings.cutoff)
