"""The steps the flows and the CLI call: the pipeline's (``pipeline/``, no Prefect) plus the report.

Everything a center goes through lives in ``harmonise.pipeline``; this module only names
those functions for the wiring. The one step that reaches into ``analysis``, the report,
lives in ``flows/report_step.py`` (named here too), so `harmonise report` does not import
the ingestion pipeline.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from harmonise.flows.settings import Settings
from harmonise.pipeline.center import (CenterResult, build_batch, failed_after_retries,  # noqa: F401
                                       ingest_center, retire_center)
from harmonise.pipeline.identity import harmonise_version  # noqa: F401
from harmonise.pipeline import run
from harmonise.pipeline.pool import CenterWorkers, default_workers  # noqa: F401
from harmonise.pipeline.run import (centers_to_run, freeze, lock_path,  # noqa: F401
                                    new_run_id, prepare_warehouse, pseudonym_key, publish_build,
                                    record_unchanged, refresh_views, unchanged_centers)
from harmonise.flows.report_step import WarehouseReader, write_report  # noqa: F401
from harmonise.flows.runlock import run_lock


def run_if_unchanged(settings: Settings, centers: list[str] | None, wait: bool = False
                     ) -> list[CenterResult] | None:
    """The whole run when no center changed: each logged as skipped, no report rewrite.

    Returns None (do the full run) when any center changed, or when the report is missing.
    Nothing expensive is started first: no Prefect server, no mapping, no report.
    """
    key = pseudonym_key(settings)
    names = centers_to_run(settings, centers)
    if not report_exists(settings):
        return None
    with run_lock(lock_path(settings), wait=wait):
        started = dt.datetime.now()
        mappings = unchanged_centers(settings, names, key)
        if mappings is None:
            return None
        run_id = new_run_id()
        build = begin_build(settings)
        results = record_unchanged(build, mappings, run_id, started)
        freeze(build, run_id, results)
        publish_build(build, settings)
    return results


def report_exists(settings: Settings) -> bool:
    """A report of the published warehouse has been written (it is rewritten when data change)."""
    return (settings.report_dir / "report.html").is_file()
from harmonise.warehouse import publish


def preflight(settings: Settings, wait: bool = False) -> None:
    """Refuse a run before anything starts (Prefect included) when it could not go ahead.

    Raises ``AlreadyRunning`` when another run holds the lock (unless ``wait``) and
    ``publish.WarehouseBusy`` when a program holds the warehouse read-write. The flow
    checks both again itself; this only makes the common refusals quick and quiet.
    """
    from harmonise.flows.runlock import run_lock
    if settings.storage == "ducklake":
        if not wait:
            with run_lock(lock_path(settings)):
                pass
        return
    if not wait:
        with run_lock(lock_path(settings)):
            publish.discard_stale_build(settings.warehouse)   # frees the disk a dead run filled
    publish.refuse_if_held(settings.warehouse, "Nothing was changed.")
    publish.check_space(settings.warehouse, settings.min_free_mb * 1_000_000)


def begin_build(settings: Settings) -> Settings:
    """``pipeline.run.begin_build``, after folding in (or setting aside, with a printed note) a
    write-ahead log an analyst's killed session left beside the warehouse."""
    if settings.storage != "ducklake":
        note = publish.recover_wal(settings.warehouse)
        if note:
            from rich.markup import escape

            from harmonise.flows.output import error
            error(f"[yellow]Note:[/] {escape(note)}")
    return run.begin_build(settings)


def mixed_key_warning(settings: Settings, key: bytes, centers: list[str]) -> str | None:
    """Which other centers were last loaded with a different pseudonymisation key, in words.

    Patient keys made with two keys never match, so a warehouse mixing them links nobody
    across centers (and counts a patient seen twice as two). Checked before a run starts.
    """
    from harmonise.mappings.pseudonym import key_fingerprint
    if settings.storage == "ducklake" or not settings.warehouse.exists():
        return None
    mine = key_fingerprint(key)
    try:
        with settings.backend.connect(read_only=True) as con:
            rows = con.execute("""
                SELECT center_id, arg_max(key_fingerprint, finished_at) AS fingerprint
                FROM load_log WHERE status = 'loaded' AND key_fingerprint IS NOT NULL
                GROUP BY center_id ORDER BY center_id""").fetchall()
    except Exception:  # an old or unreadable warehouse: the run itself will say why
        return None
    other = [c for c, fingerprint in rows if fingerprint != mine and c not in centers]
    if not other:
        return None
    return (f"{', '.join(other)} {'was' if len(other) == 1 else 'were'} last loaded with another "
            f"pseudonymisation key than this run's (fingerprint {mine}); their patient keys will "
            "not match the ones loaded now. Use the same key for every center, and reload them all "
            "with `harmonise run --force` after a key change (docs/operations.md).")
