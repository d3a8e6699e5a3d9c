"""Opening the warehouse file: read-write, or read-only at the file that is there now.

Apart from ``warehouse/store.py`` (which creates the tables from the contract, and so imports
pandera) so that a reader, the report or `harmonise sql`, opens the file without it.
"""
from __future__ import annotations

from pathlib import Path

import duckdb


def connect(path: Path | str, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse file (created with its folder if missing, unless read-only)."""
    path = Path(path)
    if read_only:
        return open_read_only(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(str(path))


#: Catalog names DuckDB reserves; a file named like one is attached as ``warehouse``.
_RESERVED = {"memory", "system", "temp", "main"}


def open_read_only(path: Path | str, config: dict | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the file that is at ``path`` now, as its default catalog.

    ``duckdb.connect(path)`` hands out the process's cached instance of ``path`` while any
    connection to it is open, and a publish renames a new file over the path: a reader
    opened after a publish would read the old file. So the file is attached to a fresh
    in-memory instance instead (never cached), under the name ``connect`` would give it.
    """
    path = Path(path)
    name = path.stem if path.stem.lower() not in _RESERVED else "warehouse"
    con = duckdb.connect(":memory:", config=config or {})
    try:
        quoted_path, quoted_name = str(path).replace("'", "''"), name.replace('"', '""')
        con.execute(f"ATTACH '{quoted_path}' AS \"{quoted_name}\" (READ_ONLY)")
        con.execute(f'USE "{quoted_name}"')
    except BaseException:
        con.close()
        raise
    return con


def rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Undo the open transaction, if any: a failed ROLLBACK (e.g. the disk filled up and the
    transaction is already gone) must never hide the error that caused it."""
    try:
        con.execute("ROLLBACK")
    except duckdb.Error:
        pass
