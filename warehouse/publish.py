"""Build-then-publish: a run writes a private copy of the warehouse, then swaps it in at once.

DuckDB lets one process write a file, and while it writes nobody else may even read it.
So a run never writes the published file: it copies it to ``<name>.building``, loads into
the copy, checkpoints and closes it, and renames it over the published file
(``os.replace``: atomic on POSIX). Analysts' sessions keep reading the file they opened
(the old one) and never see half a load; new sessions see the new one. A run killed at
any moment leaves the published file untouched; the next run discards the stale copy.

An analyst's read-write session on the published file is the one thing a rename cannot
survive: its write-ahead log (``<name>.wal``) is named after the file, so after a swap it
would be replayed against the new file and make it unreadable. So a run first folds a
leftover log (from a session that was killed) into the file, sets aside a log that can no
longer be replayed, and refuses to start or to publish while a session holds the file
read-write.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import duckdb

BUILDING_SUFFIX = ".building"


class WarehouseBusy(Exception):
    """Another program holds the published warehouse read-write (the message says what to do)."""


class NotEnoughSpace(Exception):
    """The disk cannot hold a run's copy of the warehouse and its other outputs."""


def check_space(published: Path, spare_bytes: int) -> None:
    """Refuse to start when the disk cannot hold a copy of ``published`` plus ``spare_bytes``."""
    folder = Path(published).parent
    while not folder.exists():
        folder = folder.parent
    need = (Path(published).stat().st_size if Path(published).exists() else 0) + spare_bytes
    free = shutil.disk_usage(folder).free
    if free < need:
        raise NotEnoughSpace(
            f"only {free / 1e6:,.1f} MB are free on the disk of {folder}; a run needs about "
            f"{need / 1e6:,.1f} MB (a copy of the warehouse, Prefect's state, logs and the report). "
            "Nothing was changed. Free some space (old logs, reports, exports) and run again.")


def discard_stale_build(published: Path) -> None:
    """Remove the copy a killed or failed run left (only while holding the run lock)."""
    _remove(staging_path(Path(published)))


def staging_path(published: Path) -> Path:
    """Where a run builds the next version of ``published``."""
    return published.with_name(published.name + BUILDING_SUFFIX)


def wal_path(path: Path) -> Path:
    """DuckDB's write-ahead log of the database file ``path``."""
    return path.with_name(path.name + ".wal")


def _remove(path: Path) -> None:
    for candidate in (path, wal_path(path)):
        candidate.unlink(missing_ok=True)


def _held_read_write(published: Path) -> bool:
    """True when another process has the file open read-write (it holds DuckDB's lock)."""
    try:
        duckdb.connect(str(published), read_only=True).close()
    except duckdb.IOException as exc:
        return "lock" in str(exc).lower()
    except duckdb.Error:
        return False  # unreadable for another reason: recover_wal deals with the log
    return False


def refuse_if_held(published: Path, when: str) -> None:
    if published.exists() and _held_read_write(published):
        raise WarehouseBusy(
            f"the warehouse {published} is open read-write in another program (an analyst's "
            f"session, e.g. `duckdb {published.name}` without -readonly). {when} Close that "
            f"session (or reopen it read-only: duckdb -readonly {published.name}) and run again.")


def recover_wal(published: Path) -> str | None:
    """Fold a leftover write-ahead log into ``published``; return a note if one was set aside.

    A log left by a killed read-write session is replayed (its committed writes are kept).
    A log that no longer matches the file (e.g. it outlived an earlier publish) can never
    be replayed; it is renamed ``<name>.wal.unreadable-<time>`` so the file opens again.
    """
    log = wal_path(published)
    if not published.exists() or not log.exists():
        return None
    refuse_if_held(published, "Nothing was changed.")
    try:
        with duckdb.connect(str(published)) as con:
            con.execute("CHECKPOINT")
        return None
    except duckdb.Error as exc:
        if "lock" in str(exc).lower():
            refuse_if_held(published, "Nothing was changed.")
            raise
        aside = log.with_name(f"{log.name}.unreadable-{dt.datetime.now():%Y%m%dT%H%M%S}")
        os.replace(log, aside)
        with duckdb.connect(str(published), read_only=True):
            pass  # opens cleanly now, or the real error surfaces here
        first_line = str(exc).splitlines()[0][:300]
        return (f"a write-ahead log beside {published.name} could not be replayed ({first_line}); "
                f"it was moved to {aside.name} and the warehouse opens again. Writes made in "
                "that log by an analyst's session are in that file only.")


def begin_build(published: Path) -> Path:
    """Start a build: discard any stale copy, copy the published file (if any); return the copy."""
    published = Path(published)
    staging = staging_path(published)
    _remove(staging)  # left by a run that died: it was never published, so it is garbage
    published.parent.mkdir(parents=True, exist_ok=True)
    refuse_if_held(published, "Nothing was changed.")
    recover_wal(published)
    if published.exists():
        shutil.copy2(published, staging)
    return staging


def publish(staging: Path, published: Path, mode: int = 0o640) -> None:
    """Make the build the published warehouse in one atomic rename (file mode ``mode``)."""
    with duckdb.connect(str(staging)) as con:
        con.execute("CHECKPOINT")  # fold the write-ahead log into the file before the swap
    os.chmod(staging, mode)
    refuse_if_held(published, "The new load was not published; the previous warehouse stays.")
    recover_wal(published)
    with open(staging, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(staging, published)
    directory = os.open(published.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def set_modes(folder: Path, mode: int) -> None:
    """``mode`` on every file under ``folder``; folders get it plus search (0640 -> 0750)."""
    folder_mode = mode | ((mode & 0o444) >> 2)
    os.chmod(folder, folder_mode)
    for path in Path(folder).rglob("*"):
        os.chmod(path, folder_mode if path.is_dir() else mode)


def publish_folder(target: Path, build, mode: int = 0o640) -> Path:
    """Write a folder of outputs (the report) whole or not at all; return ``build``'s result.

    ``build(folder)`` writes into a private ``.<name>.building`` folder beside ``target``;
    only when it has finished is that folder swapped in (two renames; a run killed between
    them leaves ``.<name>.old``, which the next call puts back first). A run killed while
    building leaves the previous outputs as they were, never a mix of old and new.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.building")
    old = target.with_name(f".{target.name}.old")
    if old.exists() and not target.exists():
        os.replace(old, target)                   # a swap killed half-way: the old one is whole
    shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)
    result = build(staging)
    set_modes(staging, mode)
    if target.exists():
        os.replace(target, old)
    os.replace(staging, target)
    shutil.rmtree(old, ignore_errors=True)
    return target / Path(result).relative_to(staging) if result is not None else target
