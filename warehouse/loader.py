"""Load one center's validated rows into the warehouse, replacing that center's previous rows.

A center loads in ONE transaction: its old rows (canonical tables and quarantine) are
deleted and the new ones inserted, or, if anything fails, nothing changes. So a re-run
with the same inputs gives the same warehouse, and a failed load leaves the previous
state of that center intact. Other centers' rows are never touched.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from contextlib import contextmanager
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from harmonise.schemas.canonical import LINEAGE, columns_of
from harmonise.schemas.quarantine import STORED_COLUMNS
from harmonise.schemas.text import cut
from harmonise.warehouse.store import DATA_TABLES



@dataclass
class LoadBatch:
    """Everything to store for one center: validated rows, quarantine, and their lineage."""

    center_id: str
    clean: dict[str, pd.DataFrame]           # canonical columns + _source_file, _source_row
    quarantine: pd.DataFrame                  # rendered quarantine records (schemas.quarantine)
    file_hashes: dict[str, str]               # export file name -> sha256
    rows_read: dict[str, int]                 # export file name -> data rows read
    mapping_version: str
    mapping_sha256: str
    key_fingerprint: str
    cutoff: dt.date
    load_id: str = field(default="")
    #: The same records with the values as read (identifier-like ones masked), for the
    #: center's private store only; ``quarantine`` carries their shapes.
    private_quarantine: pd.DataFrame | None = None
    #: ``patient_key, fingerprint``: keyed hashes of the quasi-identifiers (duplicates.py).
    fingerprints: pd.DataFrame | None = None
    #: Distinct source rows stored, per file (:func:`stored_rows_per_file`): counted where
    #: the batch is built (a worker process), not by the single writer.
    rows_stored: dict[str, int] | None = None

    def __post_init__(self):
        if not self.load_id:
            self.load_id = content_load_id(self)
        if self.rows_stored is None:
            self.rows_stored = stored_rows_per_file(self.clean)


def content_load_id(batch: LoadBatch) -> str:
    """Same files, mapping, key and cut-off give the same id: a load is named by its inputs."""
    return load_id_for(batch.center_id, batch.mapping_sha256, batch.key_fingerprint, batch.cutoff,
                       batch.file_hashes)


def load_id_for(center_id: str, mapping_sha256: str, key_fingerprint: str, cutoff: dt.date,
                file_hashes: dict[str, str]) -> str:
    """The content address of a load (16 hex characters of a sha256 over its inputs)."""
    parts = [center_id, mapping_sha256, key_fingerprint, cutoff.isoformat(),
             *sorted(f"{name}:{sha}" for name, sha in file_hashes.items())]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def load_center(con: duckdb.DuckDBPyConnection, batch: LoadBatch, run_id: str = "") -> dict[str, int]:
    """Replace the center's rows by ``batch`` in one transaction; return rows loaded per table.

    ``center_load`` is updated in the same transaction, so it always names the load whose
    rows are stored. Any exception rolls everything back: the center stays as it was.
    """
    con.execute("BEGIN TRANSACTION")
    try:
        loaded = replace_center_rows(con, batch, run_id)
        con.execute("COMMIT")
    except BaseException:
        from harmonise.warehouse.connection import rollback
        rollback(con)  # never hide the real cause behind "cannot rollback"
        raise
    return loaded


def replace_center_rows(con: duckdb.DuckDBPyConnection, batch: LoadBatch, run_id: str = ""
                        ) -> dict[str, int]:
    """The body of a center's load, inside the caller's transaction: delete, then insert."""
    for table in (*reversed(DATA_TABLES), "quarantine", "center_load"):
        con.execute(f"DELETE FROM {table} WHERE center_id = ?", [batch.center_id])
    frames = {table: _incoming(table, batch) for table in DATA_TABLES}
    load = {"mapping_version": batch.mapping_version, "load_id": batch.load_id}
    con.register("incoming_files", pd.DataFrame({"name": list(batch.file_hashes),
                                                 "sha256": list(batch.file_hashes.values())}))
    try:
        with text_as_varchar(con):
            for table, frame in frames.items():
                _insert(con, table, frame, _with_lineage(table), load)
            _insert(con, "quarantine", _stored_quarantine(batch))
    finally:
        con.unregister("incoming_files")
    con.execute("INSERT INTO center_load VALUES (?, ?, ?, ?)",
                [batch.center_id, batch.load_id, run_id, dt.datetime.now()])
    return {table: len(frame) for table, frame in frames.items()}


def delete_center_rows(con: duckdb.DuckDBPyConnection, center_id: str) -> dict[str, int]:
    """Remove every row of a retired center (inside the caller's transaction); rows per table."""
    removed = {}
    for table in (*reversed(DATA_TABLES), "quarantine", "center_load"):
        removed[table] = con.execute(f"SELECT count(*) FROM {table} WHERE center_id = ?",
                                     [center_id]).fetchone()[0]
        con.execute(f"DELETE FROM {table} WHERE center_id = ?", [center_id])
    return removed


@contextmanager
def text_as_varchar(con: duckdb.DuckDBPyConnection):
    """DuckDB reads pandas' object columns as VARCHAR inside the block, without sampling each
    column's values first to guess a type (a fifth of a load's time): the contract lets only
    text, or nothing, into a text column. The DuckLake's instance is made so (``lake.py``)."""
    if con.execute("SELECT current_setting('pandas_analyze_sample')").fetchone()[0] == 0:
        yield
        return
    con.execute("SET pandas_analyze_sample = 0")
    try:
        yield
    finally:
        con.execute("RESET pandas_analyze_sample")


def _insert(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame,
            select: str = "SELECT * FROM incoming", parameters: dict | None = None) -> None:
    """Append ``select`` over ``frame`` (as ``incoming``) to ``table``, matching columns by
    name."""
    if len(frame):
        con.register("incoming", frame)
        try:
            con.execute(f"INSERT INTO {table} BY NAME {select}", parameters)
        finally:
            con.unregister("incoming")


def current_load_id(con: duckdb.DuckDBPyConnection, center_id: str) -> str | None:
    """The load id whose rows are stored for ``center_id`` (None if the center never loaded)."""
    row = con.execute("SELECT load_id FROM center_load WHERE center_id = ?", [center_id]).fetchall()
    return row[0][0] if row else None


def _incoming(table: str, batch: LoadBatch) -> pd.DataFrame:
    """The batch's rows of ``table`` as validation left them (contract + engine lineage)."""
    frame = batch.clean.get(table)
    return frame if frame is not None else pd.DataFrame()


def _with_lineage(table: str) -> str:
    """The canonical columns and the lineage each stored row carries (``schemas.lineage``),
    added by DuckDB (the constant ones are never built row by row), in a stable row order
    (so re-runs are identical): the engine numbers rows deterministically. Dates stay
    datetime64 in ``incoming``: DuckDB casts them to DATE on insert."""
    columns = [f'i."{c}"' for c in columns_of(table)]
    columns += [f"{_LINEAGE_SQL[c.name]} AS {c.name}" for c in LINEAGE]
    return (f"SELECT {', '.join(columns)} FROM incoming AS i "
            "LEFT JOIN incoming_files AS f ON f.name = i._source_file "
            "ORDER BY i._source_file, i._source_row, i._row_id")


#: Where each lineage column comes from: the engine's lineage, the file's hash, the load.
_LINEAGE_SQL = {"source_file": "i._source_file", "source_sha256": "f.sha256",
                "source_row": "i._source_row", "mapping_version": "$mapping_version",
                "load_id": "$load_id"}


def _stored_quarantine(batch: LoadBatch) -> pd.DataFrame:
    frame = batch.quarantine
    if frame is None or frame.empty:
        return pd.DataFrame(columns=STORED_COLUMNS + ["load_id"])
    out = frame[STORED_COLUMNS].astype({"rule": str}).copy()
    out["center_id"] = batch.center_id
    out["load_id"] = batch.load_id
    out["source_row"] = out["source_row"].astype("Int64")
    return out.sort_values(["source_file", "source_row", "table_name", "column_name",
                            "check_name"], na_position="last").reset_index(drop=True)


def log_attempt(con: duckdb.DuckDBPyConnection, *, run_id: str, center_id: str, status: str,
                started_at: dt.datetime, finished_at: dt.datetime, batch: LoadBatch | None = None,
                message: str | None = None, file_name: str | None = None,
                file_sha256: str | None = None, mapping_version: str | None = None,
                cutoff: dt.date | None = None) -> None:
    """Append the audit record of one attempt: one row per file, or one row if none was read."""
    duration = (finished_at - started_at).total_seconds()
    message = cut(message)
    rows = []
    if batch is not None:
        quarantined = _quarantined_rows_per_file(batch.quarantine)
        stored = batch.rows_stored
        for name, sha in batch.file_hashes.items():
            read = batch.rows_read.get(name, 0)
            bad = quarantined.get(name, 0)
            rows.append((run_id, batch.load_id, center_id, name, sha, read, stored.get(name, 0), bad, status,
                         message, batch.mapping_version, batch.mapping_sha256,
                         batch.key_fingerprint, batch.cutoff, started_at, finished_at, duration))
    else:
        rows.append((run_id, None, center_id, file_name, file_sha256, None, None, None, status,
                     message, mapping_version, None, None, cutoff, started_at, finished_at, duration))
    con.executemany("INSERT INTO load_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    rows)


def stored_rows_per_file(clean: dict[str, pd.DataFrame]) -> dict[str, int]:
    """Distinct source rows of which at least one canonical row was stored, per file.

    What ``harmonise status`` calls "loaded": counted from what is stored, not as rows read
    minus rows quarantined (a patient held because of another row stores nothing).
    """
    parts = [f[["_source_file", "_source_row"]] for f in clean.values()
             if len(f) and {"_source_file", "_source_row"} <= set(f.columns)]
    if not parts:
        return {}
    rows = pd.concat(parts, ignore_index=True).drop_duplicates()
    return rows.groupby("_source_file")["_source_row"].nunique().to_dict()


def _quarantined_rows_per_file(quarantine: pd.DataFrame) -> dict[str, int]:
    """Distinct source rows with at least one quarantine record, per file."""
    if quarantine is None or quarantine.empty:
        return {}
    rows = quarantine.dropna(subset=["source_file", "source_row"])
    return rows.groupby("source_file")["source_row"].nunique().to_dict()
