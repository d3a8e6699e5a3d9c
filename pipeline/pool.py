"""Several centers at once: each is mapped and validated in its own process, then loaded here.

Centers are independent until their load, so their reading, mapping and validation (all
the CPU work, ``pipeline.center.build_planned``) run on every core; whatever touches the
warehouse (the unchanged check, the drop guard, the load) runs in this process, one
center at a time under one lock, because the warehouse has one writer. Each center goes
through exactly the steps of ``pipeline.center.ingest_center``, so the warehouse, the
``load_log`` and the private stores end up as after a one-by-one run.

:class:`CenterWorkers` is the shared part: the nightly flow runs one Prefect task per center
in threads, each calling :meth:`CenterWorkers.ingest`; :func:`ingest_centers` does the same
without Prefect.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import os
import select
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

from harmonise.mappings.errors import CenterError
from harmonise.pipeline.center import (CenterResult, Planned, begin_center, build_planned,
                                       failed, finish_center)
from harmonise.warehouse.backend import held


def default_workers() -> int:
    """Processes building centers: ``HARMONISE_WORKERS``, else the machine's cores."""
    env = os.environ.get("HARMONISE_WORKERS", "")
    return int(env) if env.isdigit() and int(env) > 0 else (os.cpu_count() or 1)


#: What the builder processes import once, in the process they are forked from: the
#: pipeline, and pandera's pandas checks (registered on a first validation; they import
#: hypothesis, about 0.15 s per process otherwise).
PRELOAD = ["harmonise.pipeline.center", "pandera.backends.pandas.builtin_checks"]


#: How much lower the builder processes' CPU priority is than the run's (``nice``): the
#: single writer is the run's critical path, so a built center waits for its load as little
#: as possible (with 2 cores: about 4% off the 20 x 10,000 benchmark, and steadier).
BUILDER_NICENESS = 5


def start_builder(run_pid: int) -> None:
    """A builder process's setup: a lower priority than the run, and its end with the run."""
    os.nice(BUILDER_NICENESS)
    end_with(run_pid)


def end_with(run_pid: int) -> None:
    """In a worker: exit as soon as the run ``run_pid`` is gone, however it ended (a run killed
    with SIGKILL would otherwise leave its workers, and the forkserver, waiting for work)."""
    threading.Thread(target=_exit_after, args=(run_pid,), name="run-watch", daemon=True).start()


def _exit_after(pid: int) -> None:
    try:
        handle = os.pidfd_open(pid)          # readable once the process has ended (Linux)
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):        # elsewhere: ask every second
        while _alive(pid):
            time.sleep(1)
        os._exit(1)
    select.select([handle], [], [])
    os._exit(1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class CenterWorkers:
    """Worker processes for building centers, and the lock of the single writer.

    Use as a context manager: the processes start when it is entered (their imports take
    about a second, so enter it before copying and preparing the warehouse) and stop at its
    end. ``ingest`` may be called from several threads at once; with ``workers == 1`` the
    batch is built in the calling thread (no process is started). The writer holds the
    warehouse open from the first center to the end (``warehouse.backend.held``: one
    checkpoint for all the loads), with one DuckDB thread while the processes build.
    """

    def __init__(self, workers: int | None = None):
        self.workers = workers or default_workers()
        self.writer = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._started = threading.Lock()
        self._held = contextlib.ExitStack()

    def __enter__(self) -> CenterWorkers:
        if self.workers > 1:
            for _ in range(self.workers):    # one process started per task submitted
                self._processes().submit(_ready)
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None
        finally:
            with self.writer:
                self._held.close()

    def _processes(self) -> ProcessPoolExecutor:
        with self._started:                 # started on first use, once
            if self._pool is None:
                context = multiprocessing.get_context("forkserver")
                context.set_forkserver_preload(PRELOAD)
                self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context,
                                                 initializer=start_builder,
                                                 initargs=(os.getpid(),))
            return self._pool

    def ingest(self, center: str, settings, run_id: str, key: bytes, force: bool = False,
               accept_drop: bool = False) -> CenterResult:
        """``pipeline.center.ingest_center`` of one center, its build in a worker process."""
        with self.writer:
            self._held.enter_context(held(settings.backend,    # once per warehouse
                                          threads=1 if self.workers > 1 else None))
            planned = begin_center(center, settings, run_id, key, force)
        if isinstance(planned, CenterResult):
            return planned
        if self.workers <= 1:
            batch, problem, file = _build(planned, settings, key)
        else:                               # OSError etc. propagate, as one by one
            batch, problem, file = self._processes().submit(_build, planned, settings,
                                                            key).result()
        with self.writer:
            if batch is None:
                return failed(center, planned.started, settings, run_id, problem, file)
            return finish_center(settings, batch, run_id, planned.started, accept_drop)

    def ingest_all(self, centers: list[str], settings, run_id: str, key: bytes,
                   force: bool = False, accept_drop: bool = False) -> list[CenterResult]:
        """:meth:`ingest` of every center, up to ``workers`` built at once; results in the
        order asked."""
        with ThreadPoolExecutor(self.workers + 1) as threads:
            futures = [threads.submit(self.ingest, center, settings, run_id, key, force,
                                      accept_drop) for center in centers]
            return [f.result() for f in futures]


def ingest_centers(centers: list[str], settings, run_id: str, key: bytes, force: bool = False,
                   workers: int | None = None, accept_drop: bool = False) -> list[CenterResult]:
    """Ingest ``centers`` (as ``pipeline.center.ingest_center`` would, one by one), mapping and
    validating up to ``workers`` (default: the cores) at once; results in the order asked."""
    with CenterWorkers(workers) as pool:
        return pool.ingest_all(centers, settings, run_id, key, force, accept_drop)


def _ready() -> None:
    """A builder process's first task: nothing (submitting it starts the process)."""


def _build(planned: Planned, settings, key: bytes):
    """In a worker: ``(batch, None, None)``, or ``(None, message, file)`` of the structural
    problem (plain values: a ``CenterError`` does not survive pickling)."""
    try:
        return build_planned(planned, settings, key), None, None
    except CenterError as err:
        return None, err.message, err.file
