"""Several centers at once: each is mapped and validated in its own process, then loaded here.

Centers are independent until their load, so their reading, mapping and validation (all
the CPU work) run on every core; the loads stay in this process, one transaction per
center in the order asked, because the warehouse has one writer.
"""
from __future__ import annotations

import datetime as dt
import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor

from harmonise.mappings.errors import CenterError
from harmonise.mappings.spec import load_mapping
from harmonise.pipeline.center import (CenterResult, build_batch, record_failure, store_batch,
                                       unchanged_result)
from harmonise.pipeline.identity import export_hashes


def ingest_centers(centers: list[str], settings, run_id: str, key: bytes, force: bool = False,
                   workers: int | None = None) -> list[CenterResult]:
    """Ingest ``centers`` (as ``pipeline.center.ingest_center`` would, one by one), mapping and
    validating up to ``workers`` (default: the cores) at once; results in the order asked."""
    workers = workers or os.cpu_count() or 1
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["harmonise.pipeline.center"])
    started: dict[str, dt.datetime] = {}
    pending: list[tuple[str, CenterResult | Future]] = []
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        for center in centers:
            started[center] = dt.datetime.now()
            try:
                mapping = load_mapping(center, settings.mappings_dir, settings.vocab_dir,
                                       settings.codes_file)
                hashes = export_hashes(mapping, settings.inbox)
                skipped = None if force else unchanged_result(center, settings, run_id, key,
                                                              mapping, hashes, started[center])
            except CenterError as err:
                pending.append((center, _failed(center, settings, run_id, started[center],
                                                err.message, err.file)))
                continue
            pending.append((center, skipped or pool.submit(_build, center, settings, key,
                                                           mapping, hashes)))
        results = []
        for center, item in pending:
            if isinstance(item, CenterResult):
                results.append(item)
                continue
            batch, problem, file = item.result()   # OSError etc. propagate, as one by one
            results.append(store_batch(settings, batch, run_id, started[center]) if batch
                           else _failed(center, settings, run_id, started[center], problem, file))
    return results


def _build(center: str, settings, key: bytes, mapping, hashes):
    """In a worker: the batch, or the structural problem as plain values (picklable)."""
    try:
        return build_batch(center, settings, key, mapping, hashes), None, None
    except CenterError as err:
        return None, err.message, err.file


def _failed(center: str, settings, run_id: str, started: dt.datetime, message: str,
            file: str | None) -> CenterResult:
    record_failure(center, settings, run_id, started, message, file_name=file)
    return CenterResult(center, "failed", message=message)
