"""Where the warehouse is stored, behind one interface: a local DuckDB file or a DuckLake.

``EmbeddedFile`` (the default, what ``make demo`` writes) is one DuckDB file with one writer:
a run builds in a private copy and publishes it with an atomic rename (:mod:`publish`).
``DuckLake`` (:mod:`lake`) keeps its catalog in PostgreSQL and its rows as Parquet under a
data path: centers load concurrently, each in one transaction, and every commit is a
snapshot that a report can be reproduced from.

Both hand out DuckDB connections in which the tables and analysis views have their plain
names (``v_patient``, ``load_log``...), so the views, ``harmonise sql``, the report and
``status`` run the same SQL on either.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol, TypeVar

import duckdb

STORAGES = ("embedded", "ducklake")
T = TypeVar("T")
#: Embedded files a writer holds open for a whole run (:func:`held`): path -> connection.
_HELD: dict[str, duckdb.DuckDBPyConnection] = {}
#: While held, DuckDB checkpoints only when the write-ahead log passes this (default 16 MB:
#: one center of 10,000 patients, so every commit would still rewrite the file).
HELD_CHECKPOINT_THRESHOLD = "1GB"


class StorageError(Exception):
    """A storage setting or request that cannot work; the message says what to change."""


@dataclass(frozen=True)
class Snapshot:
    """One DuckLake commit: its version, when, and what harmonise wrote about it."""

    version: int
    taken_at: dt.datetime
    kind: str | None            # prepare | load | freeze (None: not written by harmonise)
    message: str | None
    run_id: str | None = None
    centers: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def from_row(cls, version, taken_at, message, extra_info) -> "Snapshot":
        try:
            info = json.loads(extra_info) if extra_info else {}
        except ValueError:
            info = {}
        return cls(int(version), taken_at, info.get("kind"), message, info.get("run_id"),
                   tuple(info.get("centers", ())))


@dataclass(frozen=True)
class Commit:
    """What a transaction records on its snapshot (DuckLake); ignored by the embedded file."""

    kind: str
    message: str
    run_id: str = ""
    centers: tuple[str, ...] = ()

    def extra_info(self) -> str:
        return json.dumps({"kind": self.kind, "run_id": self.run_id, "centers": list(self.centers)})


class Warehouse(Protocol):
    """The storage interface the flows, the CLI and the report use."""

    kind: str
    supports_snapshots: bool

    def describe(self) -> str: ...
    def exists(self) -> bool: ...
    def connect(self, read_only: bool = False, as_of: int | None = None) -> duckdb.DuckDBPyConnection: ...
    def begin_run(self) -> "Warehouse": ...
    def publish(self, build: "Warehouse") -> None: ...
    def write(self, body: Callable[[duckdb.DuckDBPyConnection], T], commit: Commit) -> T: ...
    def claim(self, center_id: str, run_id: str) -> None: ...
    def snapshots(self, limit: int = 20) -> list[Snapshot]: ...
    def resolve_as_of(self, text: str) -> int: ...


@dataclass(frozen=True)
class EmbeddedFile:
    """One local DuckDB file; a run writes a private copy and swaps it in."""

    path: Path
    kind: str = "embedded"
    supports_snapshots: bool = False

    def describe(self) -> str:
        return str(self.path)

    def exists(self) -> bool:
        return Path(self.path).exists()

    def connect(self, read_only: bool = False, as_of: int | None = None) -> duckdb.DuckDBPyConnection:
        if as_of is not None:
            raise StorageError(self._no_snapshots())
        holder = _HELD.get(str(self.path))
        if holder is not None:       # the run's writer holds the file: share its instance
            return holder.cursor()
        from harmonise.warehouse.connection import connect
        return connect(self.path, read_only=read_only)

    def begin_run(self) -> "EmbeddedFile":
        from harmonise.warehouse import publish
        return EmbeddedFile(publish.begin_build(Path(self.path)))

    def publish(self, build: "Warehouse") -> None:
        from harmonise.warehouse import publish
        publish.publish(Path(build.path), Path(self.path))

    def write(self, body: Callable[[duckdb.DuckDBPyConnection], T], commit: Commit) -> T:
        """``body(con)`` in one transaction (one writer at a time: nothing to retry; a file
        keeps no history, so ``commit`` is not recorded)."""
        with self.connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                result = body(con)
                con.execute("COMMIT")
            except BaseException:
                from harmonise.warehouse.connection import rollback
                rollback(con)  # never hide the real cause behind "cannot rollback"
                raise
        return result

    def claim(self, center_id: str, run_id: str) -> None:
        """One writer at a time: loads of one center cannot race."""

    def snapshots(self, limit: int = 20) -> list[Snapshot]:
        return []

    def resolve_as_of(self, text: str) -> int:
        raise StorageError(self._no_snapshots())

    def _no_snapshots(self) -> str:
        return (f"The warehouse {self.path} is one DuckDB file, which keeps no snapshots: "
                "--as-of needs `storage: ducklake` (see docs/operations.md, 'Scaling out').")


def own_instance(warehouse: Warehouse) -> bool:
    """Whether a read-only connection of ``warehouse`` is a DuckDB instance of its own, whose
    settings (memory limit, temporary folder) its reader may change: an embedded file not
    held by a run (``connection.open_read_only``). A DuckLake's instance, or a held file's,
    is shared by the process."""
    return isinstance(warehouse, EmbeddedFile) and str(warehouse.path) not in _HELD


@contextlib.contextmanager
def held(warehouse: Warehouse, threads: int | None = None):
    """Hold an embedded file open for a run's loads: one checkpoint at the end, not one per step.

    DuckDB checkpoints a file whenever its last connection closes, and each step of a load
    (the unchanged check, the drop guard, the load's transaction) connects on its own: about
    0.5 s per center of rewriting the file and its keys. While held, ``connect`` hands out
    cursors of the one held connection (reads included: they see every committed load), each
    ``write`` is still its own transaction (a failing center rolls back alone), and the file
    is checkpointed once, when the hold ends (or when its log passes
    ``HELD_CHECKPOINT_THRESHOLD``). The caller keeps one writer at a time. ``threads``
    limits DuckDB's threads while held (the loads of a pool whose builder processes use the
    other cores: DuckDB's own threads would only compete with them). Nothing to hold on a
    DuckLake (each commit is its own snapshot).
    """
    path = str(getattr(warehouse, "path", ""))
    if not isinstance(warehouse, EmbeddedFile) or path in _HELD:
        yield
        return
    from harmonise.warehouse.connection import connect
    _HELD[path] = con = connect(path)
    con.execute(f"SET checkpoint_threshold = '{HELD_CHECKPOINT_THRESHOLD}'")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    try:
        yield
    finally:
        del _HELD[path]
        try:
            if threads:
                con.execute("RESET threads")      # the checkpoint at close uses every core
        finally:
            con.close()


def open_warehouse(storage: str, *, path: Path, lake_catalog: str | None = None,
                   lake_data_path: Path | None = None) -> Warehouse:
    """The warehouse a configuration names (``storage`` is ``embedded`` or ``ducklake``)."""
    if storage == "embedded":
        return EmbeddedFile(Path(path))
    if storage == "ducklake":
        if not lake_catalog:
            raise StorageError("storage 'ducklake' needs lake_catalog: the PostgreSQL connection "
                               "string of the catalog, e.g. 'dbname=harmonise host=db.example.org "
                               "user=harmonise' (HARMONISE_LAKE_CATALOG).")
        from harmonise.warehouse.lake import DuckLake
        return DuckLake(lake_catalog, Path(lake_data_path))
    raise StorageError(f"Unknown storage '{storage}': use one of {', '.join(STORAGES)}.")
