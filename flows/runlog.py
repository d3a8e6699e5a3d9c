"""One log file per run, ``<home>/logs/<run id>.log``, with a timestamp on every line.

It collects what the run tells Prefect's run logger (per-center lines, Prefect's own task
state lines), so the file and the Prefect UI say the same thing. Prefect's run loggers are
set to INFO (so the API and the UI get those lines) and kept off the console, where the
progress display speaks instead.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from pathlib import Path

#: The loggers behind ``prefect.get_run_logger()`` in flows and tasks.
RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")


class _RunFormatter(logging.Formatter):
    """``2026-12-01T02:00:03 INFO    ingest-site_a | site_a: 52 patients loaded, ...``"""

    def format(self, record: logging.LogRecord) -> str:
        where = getattr(record, "task_run_name", None) or getattr(record, "flow_run_name", None)
        record.where = where or record.name
        return super().format(record)


FORMATTER = _RunFormatter("%(asctime)s %(levelname)-7s %(where)s | %(message)s",
                          datefmt="%Y-%m-%dT%H:%M:%S")


def quiet_run_loggers_on_console(show: bool = False) -> None:
    """Run-logger lines go to the Prefect API (and our log file); to the console (stderr,
    Prefect's format) only when ``show`` (``--verbose``)."""
    for name in RUN_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(logging.DEBUG if show else logging.INFO)
        logger.propagate = show


@contextmanager
def log_file(log_dir: Path, run_id: str):
    """Write every run-logger line to ``log_dir/<run_id>.log`` during the ``with`` block."""
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / f"{run_id}.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(FORMATTER)
    handler.setLevel(logging.INFO)
    loggers = [logging.getLogger(name) for name in RUN_LOGGERS]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield path
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
        handler.close()
