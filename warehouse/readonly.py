"""The analyst's door to the warehouse: one read-only query, nothing else.

``harmonise sql`` opens the published file read-only, then turns off everything a query
could use to reach beyond it: the file system (``read_text('/etc/shadow')``, ``COPY ...
TO``, ``ATTACH``, ``EXPORT DATABASE``), extension installs and loads (``INSTALL httpfs``
would go to the network), and configuration changes (``SET``; the configuration is
locked, so this cannot be undone from inside the query). Only one statement is run, and
only a query (``SELECT``, ``WITH``, ``FROM``, ``DESCRIBE``, ``SHOW``, ``EXPLAIN``).

The one write a person honestly needs, the result in a file, is the ``--parquet FILE``
option: that single path is the only one the connection may touch.
"""
from __future__ import annotations

from pathlib import Path

import duckdb

from harmonise.warehouse.connection import open_read_only

#: Statement kinds a read-only query may be.
QUERY_TYPES = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}


class QueryRefused(Exception):
    """The text is not one read-only query (the message says what is allowed)."""


def open_locked(path: Path, writable: Path | None = None, backend=None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to ``path`` with external access off and the settings locked.

    ``writable``: the one file the connection may write (the ``--parquet`` output).
    ``backend``: a DuckLake (``warehouse/lake.py``) instead of the file: it reads Parquet files
    and its catalog, so external access stays on there; settings are still locked.
    """
    if backend is not None:
        con = backend.connect(read_only=True)
        con.execute("SET lock_configuration = true")
        return con
    con = open_read_only(path, config={
        "autoinstall_known_extensions": False, "autoload_known_extensions": False})
    if writable is not None:
        con.execute("SET allowed_paths = ?", [[str(Path(writable).resolve())]])
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def one_query(con: duckdb.DuckDBPyConnection, text: str) -> str:
    """The single read-only query in ``text`` (without a trailing ``;``), or ``QueryRefused``."""
    try:
        statements = con.extract_statements(text)
    except duckdb.Error as exc:
        raise QueryRefused(f"SQL error: {str(exc).splitlines()[0]}") from None
    if len(statements) != 1:
        raise QueryRefused(f"harmonise sql runs one query at a time; this text holds "
                           f"{len(statements)} statements. Run them one by one.")
    statement = statements[0]
    if statement.type not in QUERY_TYPES:
        kind = statement.type.name
        raise QueryRefused(
            f"harmonise sql only reads: a {kind} statement is not allowed (use SELECT, WITH, FROM, "
            "DESCRIBE, SHOW or EXPLAIN). To save a result, add --csv, --json or --parquet FILE.")
    return statement.query


def count_rows(con: duckdb.DuckDBPyConnection, query: str) -> int:
    """How many rows ``query`` returns in all (counted by DuckDB, not fetched)."""
    return con.execute(f"SELECT count(*) FROM ({query})").fetchone()[0]


def write_parquet(con: duckdb.DuckDBPyConnection, query: str, target: Path) -> int:
    """The whole result of ``query`` as a Parquet file (``con`` opened with ``writable=target``)."""
    path = str(Path(target).resolve()).replace("'", "''")
    return con.execute(f"COPY ({query}) TO '{path}' (FORMAT parquet)").fetchone()[0]
