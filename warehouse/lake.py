"""The scale-out warehouse: DuckLake, catalog in PostgreSQL, rows as Parquet under a data path.

Several processes (or machines) write at once. Each center's load is one DuckLake transaction
that deletes that center's rows and inserts the new ones; the tables are partitioned by
``center_id``, so two centers' loads touch different files and commit side by side. Two loads
of the SAME center conflict (both delete from the same files); DuckLake refuses the second
commit, and :meth:`DuckLake.write` retries it whole on the new snapshot, so a load is never
lost or doubled. A center's first load deletes a claim row written beforehand
(:meth:`_claim`), so even two first loads of one center conflict instead of both inserting.

Readers see one snapshot per connection (a read-only connection opens a transaction at once);
``as_of`` attaches the catalog at an earlier snapshot, read-only, views included.

Loading the extensions costs seconds per DuckDB instance, so each process keeps ONE in-memory
instance with them loaded and the catalog attached, and hands out cursors of it. The analyst's
door (:meth:`DuckLake.open_locked`, ``harmonise sql``) opens an instance of its own, locked.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TypeVar

import duckdb

from harmonise.warehouse.backend import Commit, Snapshot, StorageError

T = TypeVar("T")
EXTENSIONS = ("parquet", "postgres_scanner", "ducklake")
#: Commit attempts of one transaction that keeps meeting conflicting commits.
MAX_ATTEMPTS = 12
_instance: duckdb.DuckDBPyConnection | None = None
_attached: set[str] = set()
_lock = threading.Lock()


def extension_dir() -> Path:
    """Where the ``duckdb-ext-*`` packages put the extension binaries for this DuckDB."""
    platform = duckdb.execute("PRAGMA platform").fetchone()[0]
    return (Path(duckdb.__file__).resolve().parent.parent / "duckdb_ext" / "extensions"
            / f"v{duckdb.__version__}" / platform)


def _base() -> duckdb.DuckDBPyConnection:
    """This process's DuckDB instance with the three extensions loaded (offline)."""
    global _instance
    if _instance is None:     # pandas text read as VARCHAR: see loader.text_as_varchar
        _instance = _new_instance({"pandas_analyze_sample": 0})
    return _instance


def _new_instance(config: dict) -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB instance with the three extensions loaded (offline)."""
    con = duckdb.connect(config=config)
    folder = extension_dir()
    for name in EXTENSIONS:
        binary = folder / f"{name}.duckdb_extension"
        con.execute(f"LOAD '{binary}'" if binary.is_file() else f"LOAD {name}")
    return con


def _quote(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def is_conflict(err: Exception) -> bool:
    """A commit refused because another transaction changed the same data first."""
    return isinstance(err, duckdb.TransactionException) or "conflict" in str(err).lower()


@dataclass(frozen=True)
class DuckLake:
    """A DuckLake whose catalog is the PostgreSQL database ``catalog`` (a libpq string)."""

    catalog: str
    data_path: Path
    kind: str = "ducklake"
    supports_snapshots: bool = True

    def describe(self) -> str:
        return f"DuckLake (catalog: {self._safe_catalog()}, data: {self.data_path})"

    def _safe_catalog(self) -> str:
        """The catalog string without a password, for messages."""
        return " ".join(p for p in self.catalog.split() if not p.startswith("password="))

    def _alias(self, suffix: str) -> str:
        key = hashlib.sha256(f"{self.catalog}\0{self.data_path}".encode()).hexdigest()[:10]
        return f"lake_{key}_{suffix}"

    def _attach(self, alias: str, options: str) -> None:
        with _lock:
            if alias in _attached:
                return
            self._attach_to(_base(), alias, options)
            _attached.add(alias)

    def _attach_to(self, con: duckdb.DuckDBPyConnection, alias: str, options: str) -> None:
        Path(self.data_path).mkdir(parents=True, exist_ok=True)
        try:
            con.execute(f"ATTACH {_quote('ducklake:postgres:' + self.catalog)} AS {alias} "
                        f"(DATA_PATH {_quote(str(self.data_path) + '/')}{options})")
        except duckdb.Error as err:
            raise StorageError(f"Cannot open the DuckLake catalog {self._safe_catalog()}: "
                               f"{err}. Check that PostgreSQL is running and the database "
                               "exists (docs/operations.md, 'Scaling out').") from err

    def open_locked(self, writable: Path | None = None) -> duckdb.DuckDBPyConnection:
        """The analyst's connection (``warehouse.readonly``): a DuckDB instance of its own
        (the process's shared one is left as it is), the catalog attached read-only, files
        readable under the data path alone (and ``writable``, the ``--parquet`` output),
        nothing else outside, and the settings locked."""
        con = _new_instance({"autoinstall_known_extensions": False,
                             "autoload_known_extensions": False})
        try:
            self._attach_to(con, "lake", ", READ_ONLY")
            con.execute("USE lake")
            folders = {str(self.data_path) + "/", str(Path(self.data_path).resolve()) + "/"}
            con.execute("SET allowed_directories = ?", [sorted(folders)])
            if writable is not None:
                con.execute("SET allowed_paths = ?", [[str(Path(writable).resolve())]])
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
            con.execute("BEGIN TRANSACTION")          # the whole command: one snapshot
        except BaseException:
            con.close()
            raise
        return con

    def exists(self) -> bool:
        """True once a run has created the tables (a catalog that cannot be reached raises
        ``StorageError`` saying so, rather than looking empty)."""
        with self.connect(read_only=True) as con:
            return con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = "
                               "current_database() AND table_name = 'load_log'").fetchone()[0] > 0

    def connect(self, read_only: bool = False, as_of: int | None = None) -> duckdb.DuckDBPyConnection:
        """A connection whose default catalog is the lake (at snapshot ``as_of``, read-only)."""
        if as_of is not None:
            alias, options = self._alias(f"v{int(as_of)}"), f", READ_ONLY, SNAPSHOT_VERSION {int(as_of)}"
        elif read_only:
            alias, options = self._alias("ro"), ", READ_ONLY"
        else:
            alias, options = self._alias("rw"), ""
        self._attach(alias, options)
        con = _base().cursor()
        con.execute(f"USE {alias}")
        if read_only or as_of is not None:
            con.execute("BEGIN TRANSACTION")   # every query of this connection: one snapshot
        return con

    def begin_run(self) -> "DuckLake":
        """Runs write the lake itself: each center's load is its own transaction."""
        return self

    def publish(self, build) -> None:
        """Nothing to swap: every committed load is already visible."""

    def annotate(self, con: duckdb.DuckDBPyConnection, commit: Commit) -> None:
        """Name the snapshot the current transaction will commit."""
        con.execute("CALL set_commit_message('harmonise', ?, extra_info => ?)",
                    [commit.message, commit.extra_info()])

    def retry_conflicts(self, attempt: Callable[[], T]) -> T:
        """Run ``attempt`` (one whole transaction) again while its commit meets a conflict."""
        for number in range(1, MAX_ATTEMPTS + 1):
            try:
                return attempt()
            except duckdb.Error as err:
                if not is_conflict(err) or number == MAX_ATTEMPTS:
                    raise
                time.sleep(min(5.0, 0.1 * 1.6 ** number) * (0.5 + random.random()))
        raise AssertionError("unreachable")

    def write(self, body: Callable[[duckdb.DuckDBPyConnection], T], commit: Commit) -> T:
        """``body(con)`` in one transaction named ``commit``, retried on conflicts."""
        def attempt() -> T:
            con = self.connect()
            try:
                con.execute("BEGIN TRANSACTION")
                result = body(con)
                self.annotate(con, commit)
                con.execute("COMMIT")
                return result
            except BaseException:
                try:
                    con.execute("ROLLBACK")
                except duckdb.Error:
                    pass
                raise
            finally:
                con.close()
        return self.retry_conflicts(attempt)

    def claim(self, center_id: str, run_id: str) -> None:
        """Make sure ``center_load`` has a row for the center before its first load.

        The load transaction deletes the center's ``center_load`` rows; with at least one
        there, two loads of the same center always delete from the same file and conflict.
        """
        def body(con):
            if not con.execute("SELECT count(*) FROM center_load WHERE center_id = ?",
                               [center_id]).fetchone()[0]:
                con.execute("INSERT INTO center_load VALUES (?, '', ?, ?)",
                            [center_id, run_id, dt.datetime.now()])
        self.write(body, Commit("claim", f"run {run_id}: first load of {center_id}", run_id,
                                (center_id,)))

    def snapshots(self, limit: int = 20) -> list[Snapshot]:
        """The most recent snapshots, newest first."""
        with self.connect(read_only=True) as con:
            rows = con.execute(
                "SELECT snapshot_id, snapshot_time, commit_message, commit_extra_info "
                f"FROM {con.execute('SELECT current_database()').fetchone()[0]}.snapshots() "
                "ORDER BY snapshot_id DESC LIMIT ?", [limit]).fetchall()
        return [Snapshot.from_row(*row) for row in rows]

    def resolve_as_of(self, text: str) -> int:
        """A snapshot version (``12``) as is; a date (``2026-11-30``): that day's last freeze."""
        text = str(text).strip()
        if text.isdigit():
            return int(text)
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            raise StorageError(f"--as-of '{text}' is neither a snapshot number (see `harmonise "
                               "status`) nor a date YYYY-MM-DD.") from None
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time()).astimezone()
        freezes = [s for s in self.snapshots(limit=10_000)
                   if s.kind == "freeze" and s.taken_at < end]
        if not freezes:
            raise StorageError(f"No data freeze (finished nightly run) on or before {day}: "
                               "`harmonise status` lists the snapshots there are.")
        return freezes[0].version
