"""One center, start to end: read -> map -> validate -> identify the load -> load.

``ingest_center`` is the whole pipeline of one center. A structural problem (bad mapping,
unreadable file, undeclared or missing column) fails that center alone, is logged in
``load_log`` and comes back as a ``CenterResult`` with status ``failed``. Transient I/O
errors (``OSError``, a locked warehouse) propagate so the caller can retry them.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from harmonise.mappings.engine import map_center
from harmonise.mappings.errors import CenterError
from harmonise.mappings.pseudonym import key_fingerprint
from harmonise.mappings.spec import CenterMapping, load_mapping
from harmonise.pipeline.deadline import time_limit
from harmonise.pipeline.identity import export_hashes, mapping_fingerprint, planned_load_id
from harmonise.schemas.masking import private_value, shape
from harmonise.schemas.reasons import rendered
from harmonise.schemas.text import cut
from harmonise.schemas.validate import validate_center
from harmonise.warehouse import duplicates, guard, loader, private_store, quality
from harmonise.warehouse.backend import Commit
from harmonise.warehouse.loader import LoadBatch, current_load_id, log_attempt, replace_center_rows


#: ``load_log.message`` of a center skipped because nothing that shapes its rows changed.
UNCHANGED = "export unchanged since the last load (use --force to reload)"


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
    seconds: float | None = None   # wall time of the center's load

    def __post_init__(self):
        self.message = cut(self.message)  # may quote export content of any size


def build_batch(center: str, settings, key: bytes, mapping: CenterMapping | None = None,
                hashes: dict[str, str] | None = None) -> LoadBatch:
    """Map and validate one center (no warehouse access): the rows to load and to quarantine."""
    mapping = mapping or load_mapping(center, settings.mappings_dir, settings.vocab_dir, settings.codes_file)
    mapped = map_center(mapping, settings.inbox, key, hashes, settings.allow_symlinks)
    validated = validate_center(center, mapped.frames, pd.Timestamp(settings.cutoff),
                                mapped.quarantine, not_recorded=mapping.not_recorded,
                                codes=mapping.codes)
    shared, private = shared_and_private(with_source_columns(validated.quarantine,
                                                             mapped.source_columns))
    return LoadBatch(
        center_id=center, clean=validated.clean, quarantine=shared, private_quarantine=private,
        file_hashes={f.name: f.sha256 for f in mapped.files},
        rows_read={f.name: f.rows_read for f in mapped.files},
        mapping_version=mapping.version, mapping_sha256=mapping_fingerprint(mapping),
        key_fingerprint=key_fingerprint(key), cutoff=settings.cutoff,
        fingerprints=duplicates.fingerprints(validated.clean, key, settings.duplicate_fields))


def shared_and_private(quarantine: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The records as everyone may see them (values as shapes) and as the center's private
    store keeps them (values as read, identifier-like ones masked), each with its words."""
    def each(fn):
        return pd.Series([None if v is None or v is pd.NA or (isinstance(v, float) and v != v)
                          else fn(str(v), c) for v, c in zip(quarantine["failed_value"],
                                                             quarantine["source_column"])],
                         index=quarantine.index, dtype=object)
    shared = quarantine.assign(failed_value=each(lambda v, c: shape(v)))
    private = quarantine.assign(failed_value=each(private_value))
    return rendered(shared), rendered(private)


def with_source_columns(quarantine: pd.DataFrame, sources: dict) -> pd.DataFrame:
    """Name the export's own column in each record validation made about a canonical column."""
    if quarantine.empty:
        return quarantine
    out = quarantine.copy()
    known = pd.Series([sources.get((t, c)) for t, c in zip(out["table_name"], out["column_name"])],
                      index=out.index, dtype=object)
    out["source_column"] = out["source_column"].astype(object).where(out["source_column"].notna(), known)
    return out


def unchanged_result(center: str, settings, run_id: str, key: bytes, mapping: CenterMapping,
                     hashes: dict[str, str] | None, started: dt.datetime) -> CenterResult | None:
    """A ``skipped`` result (logged) when the stored load has this very identity, else None."""
    if hashes is None:
        return None
    planned = planned_load_id(mapping, settings.cutoff, key, hashes)
    with settings.backend.connect(read_only=True) as con:
        if current_load_id(con, center) != planned:
            return None
        patients = con.execute("SELECT count(*) FROM patient WHERE center_id = ?",
                               [center]).fetchone()[0]
    def skip(con):
        log_attempt(con, run_id=run_id, center_id=center, status="skipped", started_at=started,
                    finished_at=dt.datetime.now(),
                    message=UNCHANGED,
                    mapping_version=mapping.version, cutoff=settings.cutoff)
        quality.record(con, run_id, center, "skipped")  # its findings still stand tonight
    settings.backend.write(skip, Commit("skip", f"run {run_id}: {center} unchanged", run_id, (center,)))
    # the summary shows the patients the warehouse holds for it
    return CenterResult(center, "skipped", patients_loaded=patients,
                        message="unchanged since the last load", seconds=_since(started))


@dataclass(frozen=True)
class Planned:
    """A center that needs its batch built: what :func:`begin_center` found out."""

    center: str
    mapping: CenterMapping
    hashes: dict[str, str] | None
    started: dt.datetime


def ingest_center(center: str, settings, run_id: str, key: bytes, force: bool = False,
                  mapping: CenterMapping | None = None, accept_drop: bool = False) -> CenterResult:
    """Map, validate and load one center; a structural problem fails this center only.

    An export identical to the one already loaded (same files, mapping, vocabularies,
    key and cut-off) is skipped unless ``force``. Mapping and validating run under the
    center's time limit (``pipeline/deadline.py``). A load that would lose most of the
    center's patients fails instead (``warehouse/guard.py``) unless ``accept_drop``.
    The three steps (:func:`begin_center`, :func:`build_planned`, :func:`finish_center`)
    are also run apart by ``pipeline/pool.py``, the middle one in a worker process.
    """
    planned = begin_center(center, settings, run_id, key, force, mapping)
    if isinstance(planned, CenterResult):
        return planned
    try:
        batch = build_planned(planned, settings, key)
    except CenterError as err:
        return failed(center, planned.started, settings, run_id, err.message, err.file)
    return finish_center(settings, batch, run_id, planned.started, accept_drop)


def begin_center(center: str, settings, run_id: str, key: bytes, force: bool = False,
                 mapping: CenterMapping | None = None) -> CenterResult | Planned:
    """Step 1 (reads the warehouse; logs a skip): the mapping and export hashes, or the
    center's result when it is unchanged (``skipped``) or its mapping or files are unusable
    (``failed``, logged)."""
    started = dt.datetime.now()
    try:
        mapping = mapping or load_mapping(center, settings.mappings_dir, settings.vocab_dir,
                                          settings.codes_file)
        hashes = export_hashes(mapping, settings.inbox, settings.allow_symlinks)
        skipped = None if force else unchanged_result(center, settings, run_id, key, mapping,
                                                      hashes, started)
    except CenterError as err:
        return failed(center, started, settings, run_id, err.message, err.file)
    return skipped or Planned(center, mapping, hashes, started)


def build_planned(planned: Planned, settings, key: bytes) -> LoadBatch:
    """Step 2 (no warehouse access; the CPU work): map and validate under the center's
    time limit. Raises ``CenterError`` for a structural problem."""
    with time_limit(planned.center, settings.time_limit_of(planned.center)):
        return build_batch(planned.center, settings, key, planned.mapping, planned.hashes)


def failed(center: str, started: dt.datetime, settings, run_id: str, message: str,
           file: str | None = None) -> CenterResult:
    """A structural problem of step 1 or 2 (a ``CenterError``'s message and file): logged in
    ``load_log``, the center's rows kept."""
    record_failure(center, settings, run_id, started, message, file_name=file)
    return CenterResult(center, "failed", message=message, seconds=_since(started))


def finish_center(settings, batch: LoadBatch, run_id: str, started: dt.datetime,
                  accept_drop: bool = False) -> CenterResult:
    """Step 3 (the single writer): the private store, the drop guard, then the load."""
    center = batch.center_id
    private_store.write(settings.home, center, batch.private_quarantine, batch.load_id)
    with settings.backend.connect(read_only=True) as con:
        refused = None if accept_drop else guard.refusal(
            batch, guard.stored_patients(con, center), settings.max_patient_drop)
    if refused:
        record_failure(center, settings, run_id, started, refused)
        return CenterResult(center, "failed", rows_read=sum(batch.rows_read.values()),
                            message=refused, seconds=_since(started))
    return store_batch(settings, batch, run_id, started)


def store_batch(settings, batch: LoadBatch, run_id: str, started: dt.datetime) -> CenterResult:
    """Replace the center's rows and append its audit record, in ONE transaction."""
    warehouse = settings.backend
    warehouse.claim(batch.center_id, run_id)

    def body(con):
        loaded = replace_center_rows(con, batch, run_id)
        duplicates.replace(con, batch.center_id, batch.fingerprints, batch.load_id)
        log_attempt(con, run_id=run_id, center_id=batch.center_id, status="loaded",
                    started_at=started, finished_at=dt.datetime.now(), batch=batch)
        quality.record(con, run_id, batch.center_id, "loaded")  # the quarantine history
        return loaded
    loaded = warehouse.write(body, Commit("load", f"run {run_id}: load {batch.center_id}", run_id,
                                          (batch.center_id,)))
    rows_read = sum(batch.rows_read.values())
    quarantined = batch.quarantine.dropna(subset=["source_row"]).drop_duplicates(
        ["source_file", "source_row"]).shape[0]
    stored = sum(batch.rows_stored.values())
    return CenterResult(batch.center_id, "loaded", rows_read=rows_read, rows_loaded=stored,
                        rows_quarantined=quarantined, patients_loaded=loaded["patient"],
                        seconds=_since(started))


def _since(started: dt.datetime) -> float:
    return (dt.datetime.now() - started).total_seconds()


def retire_center(center: str, settings, run_id: str) -> dict[str, int]:
    """Delete a retired center's rows and private store, and log it; rows removed per table."""
    started = dt.datetime.now()

    def body(con):
        removed = loader.delete_center_rows(con, center)
        duplicates.replace(con, center, None, "")
        log_attempt(con, run_id=run_id, center_id=center, status="retired", started_at=started,
                    finished_at=dt.datetime.now(), message=f"retired: {removed.get('patient', 0)} "
                    "patients and all their rows removed", cutoff=settings.cutoff)
        return removed
    removed = settings.backend.write(body, Commit("retire", f"run {run_id}: retire {center}",
                                                  run_id, (center,)))
    private_store.store_path(settings.home, center).unlink(missing_ok=True)
    return removed


def failed_after_retries(center: str, settings, run_id: str, started: dt.datetime,
                         message: str | None) -> CenterResult:
    """A center whose load kept failing (e.g. the file stayed unreadable): log it, move on."""
    text = f"center {center}: the load failed after retries: {message}. Check that the export " \
           "is complete and the warehouse is not held by another program, then run again."
    record_failure(center, settings, run_id, started, text)
    return CenterResult(center, "failed", message=text)


def record_failure(center: str, settings, run_id: str, started: dt.datetime,
                   message: str, file_name: str | None = None) -> None:
    """Append a failed attempt to ``load_log`` (the center's previous rows stay as they were)."""
    settings.backend.write(lambda con: log_attempt(
        con, run_id=run_id, center_id=center, status="failed", started_at=started,
        finished_at=dt.datetime.now(), message=message, file_name=file_name,
        cutoff=settings.cutoff), Commit("failed", f"run {run_id}: {center} failed", run_id, (center,)))
