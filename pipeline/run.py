"""What a run does around its centers: name it, find the centers, prepare, publish, freeze.

``settings`` is any object with the attributes ``RunConfig`` lists (``flows.settings.Settings``
is one); this stage never imports the wiring above it.
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from harmonise.mappings.pseudonym import load_key
from harmonise.mappings.spec import CenterMapping, list_centers, load_mapping
from harmonise.pipeline.center import UNCHANGED, CenterResult
from harmonise.pipeline.identity import export_hashes, planned_load_id
from harmonise.warehouse import publish, quality, store
from harmonise.warehouse.backend import Commit
from harmonise.schemas.study_codes import study_book
from harmonise.warehouse.loader import current_load_id, log_attempt


class RunConfig(Protocol):
    """The settings a run reads."""

    inbox: Path
    warehouse: Path
    mappings_dir: Path
    vocab_dir: Path | None
    codes_file: Path | None
    cutoff: dt.date
    demo_key: bool
    key_env: str | None
    key_file: Path | None
    storage: str
    backend: object
    analysis_views: list[str]   # the study plan's view statements (harmonise.analysis.plan_sql)
    max_patient_drop: float
    duplicate_fields: str
    file_mode: int
    allow_symlinks: bool

    def time_limit_of(self, center: str) -> float: ...


def new_run_id() -> str:
    """A unique id for one run, sortable by time (``20261121T020000-1a2b3c``)."""
    return f"{dt.datetime.now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def centers_to_run(settings: RunConfig, only: list[str] | None = None) -> list[str]:
    """The centers with a mapping file, or ``only`` those asked for."""
    return list(only) if only else list_centers(settings.mappings_dir)


def pseudonym_key(settings: RunConfig) -> bytes:
    """The run's pseudonymisation key (raises ``PseudonymKeyError`` with what to do)."""
    return load_key(demo=settings.demo_key, key_env=settings.key_env, key_file=settings.key_file)


def prepare_warehouse(settings: RunConfig, run_id: str = "") -> None:
    """Create tables, write reference codes and the cut-off, refresh the views."""
    warehouse = settings.backend
    warehouse.write(store.ensure_tables, Commit("schema", f"run {run_id}: tables", run_id))
    views = settings.analysis_views
    book = study_book(settings.codes_file)
    warehouse.write(lambda con: store.write_conventions(con, settings.cutoff, views, book),
                    Commit("prepare", f"run {run_id}: codes, cut-off {settings.cutoff}, views",
                           run_id))


def refresh_views(settings: RunConfig) -> None:
    """Recreate the study plan's analysis views (after loads, so analysts see the new rows)."""
    views = settings.analysis_views
    settings.backend.write(lambda con: store.refresh_views(con, views),
                           Commit("views", "analysis views"))


def lock_path(settings: RunConfig) -> Path:
    """The run lock of a warehouse: ``<warehouse>.lock`` beside it."""
    return settings.warehouse.with_name(settings.warehouse.name + ".lock")


def begin_build(settings: RunConfig) -> RunConfig:
    """Settings that point at a fresh private copy of the warehouse, for one run to write.

    A DuckLake needs no copy: each center's load is its own transaction in the lake.
    Raises ``publish.WarehouseBusy`` while another program holds the warehouse read-write
    (a leftover write-ahead log is folded in first by ``flows.steps.begin_build``).
    """
    if settings.storage == "ducklake":
        return settings
    return replace(settings, warehouse=publish.begin_build(settings.warehouse))


def publish_build(build: RunConfig, settings: RunConfig) -> None:
    """Swap the run's copy in as the published warehouse (atomic); nothing to do on a lake."""
    if settings.storage == "ducklake":
        return
    publish.publish(build.warehouse, settings.warehouse, settings.file_mode)


def unchanged_centers(settings: RunConfig, centers: list[str], key: bytes
                      ) -> dict[str, CenterMapping] | None:
    """Every center's mapping when each stored load already has the identity its inputs give
    now, else None.

    Decided from hashes alone (exports, mapping, shared rules, key, cut-off): nothing is
    read, mapped or validated, so an unchanged nightly run costs seconds.
    """
    if not centers or not settings.backend.exists():
        return None
    mappings = {}
    with settings.backend.connect(read_only=True) as con:
        for center in centers:
            mapping = mappings[center] = load_mapping(center, settings.mappings_dir, settings.vocab_dir,
                                                      settings.codes_file)
            hashes = export_hashes(mapping, settings.inbox)
            if hashes is None or current_load_id(con, center) != planned_load_id(
                    mapping, settings.cutoff, key, hashes):
                return None
    return mappings


def record_unchanged(settings: RunConfig, mappings: dict[str, CenterMapping], run_id: str,
                     started: dt.datetime) -> list[CenterResult]:
    """Log every center of an unchanged run as skipped, in one write; their summary lines."""
    def body(con):
        for center, mapping in mappings.items():
            log_attempt(con, run_id=run_id, center_id=center, status="skipped",
                        started_at=started, finished_at=dt.datetime.now(), message=UNCHANGED,
                        mapping_version=mapping.version, cutoff=settings.cutoff)
            quality.record(con, run_id, center, "skipped")  # its findings still stand tonight
        return dict(con.execute("SELECT center_id, count(*) FROM patient GROUP BY ALL").fetchall())
    patients = settings.backend.write(body, Commit("skip", f"run {run_id}: nothing changed", run_id,
                                                   tuple(mappings)))
    return [CenterResult(c, "skipped", patients_loaded=patients.get(c, 0),
                         message="unchanged since the last load") for c in mappings]


def freeze(settings: RunConfig, run_id: str, results: list[CenterResult]) -> None:
    """Record the run in ``data_freeze``; on a DuckLake its snapshot is the run's data freeze."""
    loaded = tuple(r.center for r in results if r.status in ("loaded", "skipped"))
    failed = ",".join(r.center for r in results if r.status == "failed") or None
    message = f"nightly run {run_id}: centers loaded {', '.join(loaded) or 'none'}" + (
        f"; failed {failed}" if failed else "")
    settings.backend.write(
        lambda con: con.execute("INSERT INTO data_freeze VALUES (?, ?, ?, ?)",
                                [run_id, ",".join(loaded), failed, dt.datetime.now()]),
        Commit("freeze", message, run_id, loaded))
