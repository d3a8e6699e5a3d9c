"""The plain functions the flows call, each usable and tested without Prefect.

``ingest_center`` is one center's whole pipeline: mapping file -> export -> canonical frames
-> validation -> one-transaction load -> audit record. A structural problem (bad mapping,
unreadable file, undeclared or missing column) fails that center alone, is logged in
``load_log`` and comes back as a ``CenterResult`` with status ``failed``. Transient I/O
errors (``OSError``, a locked warehouse) propagate so the flow can retry them.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from harmonise.flows.settings import Settings
from harmonise.mappings.engine import center_inbox, map_center
from harmonise.mappings.readers import sha256_of
from harmonise.mappings.vocabulary import VOCAB_DIR
from harmonise.mappings.errors import CenterError
from harmonise.mappings.pseudonym import key_fingerprint, load_key
from harmonise.mappings.spec import list_centers, load_mapping
from harmonise.schemas.codes import CODES_FILE
from harmonise.schemas.quarantine import rendered
from harmonise.schemas.validate import validate_center
from harmonise.warehouse import loader, publish, store
from harmonise.warehouse.backend import Commit
from harmonise.warehouse.loader import (LoadBatch, current_load_id, load_id_for, log_attempt,
                                        replace_center_rows)


@dataclass
class CenterResult:
    """What happened to one center in one run: the line of the summary table."""

    center: str
    status: str                 # loaded | skipped | failed
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


def prepare_warehouse(settings: Settings, run_id: str = "") -> None:
    """Create tables, write reference codes and the cut-off, refresh the views."""
    warehouse = settings.backend
    warehouse.write(store.ensure_tables, Commit("schema", f"run {run_id}: tables", run_id))
    warehouse.write(lambda con: store.write_conventions(con, settings.cutoff),
                    Commit("prepare", f"run {run_id}: codes, cut-off {settings.cutoff}, views",
                           run_id))


def lock_path(settings: Settings) -> Path:
    """The run lock of a warehouse: ``<warehouse>.lock`` beside it."""
    return settings.warehouse.with_name(settings.warehouse.name + ".lock")


def begin_build(settings: Settings) -> Settings:
    """Settings that point at a fresh private copy of the warehouse, for one run to write.

    A DuckLake needs no copy: each center's load is its own transaction in the lake.
    """
    if settings.storage == "ducklake":
        return settings
    return replace(settings, warehouse=publish.begin_build(settings.warehouse))


def publish_build(build: Settings, settings: Settings) -> None:
    """Swap the run's copy in as the published warehouse (atomic); nothing to do on a lake."""
    if settings.storage == "ducklake":
        return
    publish.publish(build.warehouse, settings.warehouse)


def freeze(settings: Settings, run_id: str, results: list["CenterResult"]) -> None:
    """Record the run in ``data_freeze``; on a DuckLake its snapshot is the run's data freeze."""
    loaded = tuple(r.center for r in results if r.status in ("loaded", "skipped"))
    failed = ",".join(r.center for r in results if r.status == "failed") or None
    message = f"nightly run {run_id}: centers loaded {', '.join(loaded) or 'none'}" + (
        f"; failed {failed}" if failed else "")
    settings.backend.write(
        lambda con: con.execute("INSERT INTO data_freeze VALUES (?, ?, ?, ?)",
                                [run_id, ",".join(loaded), failed, dt.datetime.now()]),
        Commit("freeze", message, run_id, loaded))


@dataclass(frozen=True)
class WarehouseReader:
    """What the report reads from: a read-only connection, optionally at a snapshot."""

    warehouse: object
    as_of: int | None = None

    def connect(self, read_only: bool = True):
        return self.warehouse.connect(read_only=True, as_of=self.as_of)


def write_report(settings: Settings, transform: str = "log", out_dir: Path | None = None,
                 as_of: int | None = None) -> Path:
    """Write the pooled-analysis report of the published warehouse; return the HTML path.

    ``as_of`` (DuckLake only): the snapshot to report on, so an earlier freeze is reproduced.
    """
    from harmonise.analysis.report import write_report as write
    return write(WarehouseReader(settings.backend, as_of), out_dir or settings.report_dir,
                 transform=transform)


def refresh_views(settings: Settings) -> None:
    """Recreate the analysis views (after loads, so analysts see the new rows)."""
    settings.backend.write(store.refresh_views, Commit("views", "analysis views"))


def rules_fingerprint() -> str:
    """sha256 of everything besides a center's own mapping that shapes its rows.

    The shared vocabularies, the code lists and the harmonise version: change any of them
    and every center reloads on the next run.
    """
    digest = hashlib.sha256(harmonise_version().encode())
    for path in sorted((*VOCAB_DIR.glob("*.yaml"), CODES_FILE)):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def harmonise_version() -> str:
    """The installed harmonise version (``unknown`` in a bare checkout)."""
    try:
        return importlib.metadata.version("harmonise")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - running from a checkout
        return "unknown"


def export_hashes(mapping, settings: Settings) -> dict[str, str] | None:
    """sha256 of each export file of the center, or None if one is missing."""
    hashes = {}
    for spec in mapping.files:
        path = center_inbox(settings.inbox, mapping.center) / spec.name
        if not path.is_file():
            return None
        hashes[spec.name] = sha256_of(path)
    return hashes


def planned_load_id(mapping, settings: Settings, key: bytes, hashes: dict[str, str]) -> str:
    """The load id this center's current export files (``hashes``) would get."""
    return load_id_for(mapping.center, _mapping_fingerprint(mapping), key_fingerprint(key),
                       settings.cutoff, hashes)


def _mapping_fingerprint(mapping) -> str:
    return hashlib.sha256((mapping.sha256 + rules_fingerprint()).encode()).hexdigest()


def build_batch(center: str, settings: Settings, key: bytes, mapping=None,
                hashes: dict[str, str] | None = None) -> LoadBatch:
    """Map and validate one center (no warehouse access): the rows to load and to quarantine."""
    mapping = mapping or load_mapping(center, settings.mappings_dir)
    mapped = map_center(mapping, settings.inbox, key, hashes)
    cutoff = pd.Timestamp(settings.cutoff)
    validated = validate_center(center, mapped.frames, cutoff, mapped.quarantine,
                                not_recorded=mapping.not_recorded)
    quarantine = rendered(with_source_columns(validated.quarantine, mapped.source_columns))
    return LoadBatch(
        center_id=center, clean=validated.clean, quarantine=quarantine,
        file_hashes={f.name: f.sha256 for f in mapped.files},
        rows_read={f.name: f.rows_read for f in mapped.files},
        mapping_version=mapping.version, mapping_sha256=_mapping_fingerprint(mapping),
        key_fingerprint=key_fingerprint(key), cutoff=settings.cutoff)


def with_source_columns(quarantine: pd.DataFrame, sources: dict) -> pd.DataFrame:
    """Name the export's own column in each record validation made about a canonical column."""
    if quarantine.empty:
        return quarantine
    out = quarantine.copy()
    known = pd.Series([sources.get((t, c)) for t, c in zip(out["table_name"], out["column_name"])],
                      index=out.index, dtype=object)
    out["source_column"] = out["source_column"].astype(object).where(out["source_column"].notna(), known)
    return out


def pseudonym_key(settings: Settings) -> bytes:
    """The run's pseudonymisation key (raises ``PseudonymKeyError`` with what to do)."""
    return load_key(demo=settings.demo_key)


def ingest_center(center: str, settings: Settings, run_id: str, key: bytes,
                  force: bool = False) -> CenterResult:
    """Map, validate and load one center; a structural problem fails this center only.

    An export identical to the one already loaded (same files, mapping, vocabularies,
    key and cut-off) is skipped unless ``force``.
    """
    started = dt.datetime.now()
    try:
        mapping = load_mapping(center, settings.mappings_dir)
        hashes = export_hashes(mapping, settings)
        if not force and hashes is not None:
            planned = planned_load_id(mapping, settings, key, hashes)
            with settings.backend.connect(read_only=True) as con:
                unchanged = current_load_id(con, center) == planned
                patients = con.execute("SELECT count(*) FROM patient WHERE center_id = ?",
                                       [center]).fetchone()[0] if unchanged else 0
            if unchanged:  # the summary shows the patients the warehouse holds for it
                settings.backend.write(lambda con: log_attempt(
                    con, run_id=run_id, center_id=center, status="skipped", started_at=started,
                    finished_at=dt.datetime.now(),
                    message="export unchanged since the last load (use --force to reload)",
                    mapping_version=mapping.version, cutoff=settings.cutoff),
                    Commit("skip", f"run {run_id}: {center} unchanged", run_id, (center,)))
                return CenterResult(center, "skipped", patients_loaded=patients,
                                    message="unchanged since the last load")
        batch = build_batch(center, settings, key, mapping, hashes)
    except CenterError as err:
        record_failure(center, settings, run_id, started, err.message, file_name=err.file)
        return CenterResult(center, "failed", message=err.message)
    loaded = store_batch(settings, batch, run_id, started)
    rows_read = sum(batch.rows_read.values())
    quarantined = batch.quarantine.dropna(subset=["source_row"]).drop_duplicates(
        ["source_file", "source_row"]).shape[0]
    stored = sum(loader.stored_rows_per_file(batch.clean).values())
    return CenterResult(center, "loaded", rows_read=rows_read, rows_loaded=stored,
                        rows_quarantined=quarantined, patients_loaded=loaded["patient"])


def store_batch(settings: Settings, batch: LoadBatch, run_id: str, started: dt.datetime
                ) -> dict[str, int]:
    """Replace the center's rows and append its audit record, in ONE transaction."""
    warehouse = settings.backend
    warehouse.claim(batch.center_id, run_id)

    def body(con):
        loaded = replace_center_rows(con, batch, run_id)
        log_attempt(con, run_id=run_id, center_id=batch.center_id, status="loaded",
                    started_at=started, finished_at=dt.datetime.now(), batch=batch)
        return loaded
    return warehouse.write(body, Commit("load", f"run {run_id}: load {batch.center_id}", run_id,
                                        (batch.center_id,)))


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
    settings.backend.write(lambda con: log_attempt(
        con, run_id=run_id, center_id=center, status="failed", started_at=started,
        finished_at=dt.datetime.now(), message=message, file_name=file_name,
        cutoff=settings.cutoff), Commit("failed", f"run {run_id}: {center} failed", run_id, (center,)))
