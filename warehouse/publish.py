"""Build-then-publish: a run writes a private copy of the warehouse, then swaps it in at once.

DuckDB lets one process write a file, and while it writes nobody else may even read it.
So a run never writes the published file: it copies it to ``<name>.building``, loads into
the copy, checkpoints and closes it, and renames it over the published file
(``os.replace``: atomic on POSIX). Analysts' sessions keep reading the file they opened
(the old one) and never see half a load; new sessions see the new one. A run killed at
any moment leaves the published file untouched; the next run discards the stale copy.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb

BUILDING_SUFFIX = ".building"


def staging_path(published: Path) -> Path:
    """Where a run builds the next version of ``published``."""
    return published.with_name(published.name + BUILDING_SUFFIX)


def _remove(path: Path) -> None:
    for candidate in (path, path.with_name(path.name + ".wal")):
        candidate.unlink(missing_ok=True)


def begin_build(published: Path) -> Path:
    """Start a build: discard any stale copy, copy the published file (if any); return the copy."""
    published = Path(published)
    staging = staging_path(published)
    _remove(staging)  # left by a run that died: it was never published, so it is garbage
    published.parent.mkdir(parents=True, exist_ok=True)
    if published.exists():
        shutil.copy2(published, staging)
    return staging


def publish(staging: Path, published: Path) -> None:
    """Make the build the published warehouse in one atomic rename."""
    with duckdb.connect(str(staging)) as con:
        con.execute("CHECKPOINT")  # fold the write-ahead log into the file before the swap
    with open(staging, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(staging, published)
    directory = os.open(published.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
