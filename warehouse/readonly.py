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

import json
import re
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
    ``backend``: a DuckLake (``warehouse/lake.py``) instead of the file: its own DuckDB
    instance, which may read the lake's data folder alone; settings locked the same way.
    """
    if backend is not None:
        return backend.open_locked(writable)
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
    _refuse_server_functions(con, statement)
    return statement.query


def _refuse_server_functions(con: duckdb.DuckDBPyConnection, statement) -> None:
    """On a connection with a PostgreSQL database attached (a DuckLake's catalog), refuse the
    table functions that send SQL text to that server, or run SQL text DuckDB would only
    parse when running it: the catalog's role could read the server's own files."""
    if not con.execute("SELECT count(*) FROM duckdb_databases() WHERE type = 'postgres'"
                       ).fetchone()[0]:
        return
    text = statement.query
    if statement.type == duckdb.StatementType.EXPLAIN:
        text = re.sub(r"(?is)^\s*explain\s+(analy[sz]e\s+)?", "", text)
    called = _table_functions(con, text)
    if called is None:
        raise QueryRefused("harmonise sql could not check which functions this query calls on "
                           "a DuckLake; write it as a plain SELECT.")
    refused = sorted(f for f in called if f.startswith("postgres_") or f in _REFUSED_FUNCTIONS)
    if refused:
        raise QueryRefused(f"harmonise sql does not run {', '.join(refused)}: on a DuckLake "
                           "it would reach the catalog's PostgreSQL server, run unchecked SQL "
                           "text or change the lake. Query the warehouse's tables and views "
                           "instead (lake maintenance is for its operators, not this door).")


#: Table functions refused besides ``postgres_*``: those that run SQL given as text
#: (``query``, ``query_table``), the postgres extension's cache reset, and DuckLake's
#: maintenance, which changes the lake's files or catalog (a read-only attach stops some of
#: them, not all). DuckLake's readers (``ducklake_snapshots``, ``ducklake_table_info``, ...)
#: stay allowed.
_REFUSED_FUNCTIONS = {"query", "query_table", "pg_clear_cache", *(
    prefix + name for prefix in ("", "ducklake_") for name in (
        "add_data_files", "cleanup_old_files", "delete_orphaned_files", "expire_snapshots",
        "flush_inlined_data", "merge_adjacent_files", "rewrite_data_files",
        "set_commit_message", "set_option"))}


def _table_functions(con: duckdb.DuckDBPyConnection, text: str) -> set[str] | None:
    """The table functions a query calls, from DuckDB's own parse (None: it cannot say)."""
    tree = json.loads(con.execute("SELECT json_serialize_sql(?)", [text]).fetchone()[0])
    if tree.get("error"):
        return None
    names, todo = set(), [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            if node.get("type") == "TABLE_FUNCTION":
                names.add(str(node["function"]["function_name"]).lower())
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    return names


def count_rows(con: duckdb.DuckDBPyConnection, query: str) -> int:
    """How many rows ``query`` returns in all (counted by DuckDB, not fetched)."""
    return con.execute(f"SELECT count(*) FROM ({query})").fetchone()[0]


def write_parquet(con: duckdb.DuckDBPyConnection, query: str, target: Path) -> int:
    """The whole result of ``query`` as a Parquet file (``con`` opened with ``writable=target``)."""
    path = str(Path(target).resolve()).replace("'", "''")
    return con.execute(f"COPY ({query}) TO '{path}' (FORMAT parquet)").fetchone()[0]
