"""The DuckDB warehouse file: create its tables, refresh its views (opening it: connection.py).

The canonical tables and the quarantine are generated from their declarations
(``warehouse/ddl.py`` over ``schemas/canonical.py`` and ``schemas/quarantine.py``); bookkeeping tables (``2x``) and analysis views (``3x``) are
defined in ``warehouse/sql/*.sql`` (one per object, grain in the header), applied in
file-name order.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import duckdb

from harmonise.schemas.canonical import RENAMED_COLUMNS, TABLES
from harmonise.schemas.codes import CodeBook, builtin
from harmonise.warehouse.connection import rollback
from harmonise.warehouse.ddl import canonical_ddl, quarantine_ddl

SQL_DIR = Path(__file__).with_name("sql")
#: The canonical tables, in dependency order (parents first).
DATA_TABLES = tuple(TABLES)
VIEWS = ("v_patient", "v_adverse_event", "v_adverse_event_worst", "v_response", "v_quality_change",
         "v_duplicate_pair")


def sql_files(prefixes: tuple[str, ...]) -> list[Path]:
    return sorted(p for p in SQL_DIR.glob("*.sql") if p.name.startswith(prefixes))


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create any missing table (existing tables and rows are left alone, but a column renamed
    in the contract, ``RENAMED_COLUMNS``, is renamed in place)."""
    rename_columns(con)
    if is_lake(con):
        _ensure_lake_tables(con)
        return
    for ddl in table_ddl():
        con.execute(ddl)


def rename_columns(con: duckdb.DuckDBPyConnection) -> None:
    """A warehouse made before a canonical column was renamed gets the new name (rows kept)."""
    present = set(con.execute("SELECT table_name, column_name FROM duckdb_columns() "
                              "WHERE database_name = current_database()").fetchall())
    for (table, old), new in RENAMED_COLUMNS.items():
        if (table, old) in present and (table, new) not in present:
            con.execute(f'ALTER TABLE {table} RENAME COLUMN "{old}" TO "{new}"')


def table_ddl() -> list[str]:
    """The DDL of every table: the generated canonical ones and quarantine, then the ``2x``
    bookkeeping files."""
    return [*canonical_ddl(), quarantine_ddl(), *(p.read_text(encoding="utf-8") for p in sql_files(("2",)))]


def is_lake(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the connection's default catalog is a DuckLake (see warehouse/lake.py)."""
    row = con.execute("SELECT type FROM duckdb_databases() WHERE database_name = current_database()"
                      ).fetchone()
    return bool(row) and row[0] == "ducklake"


def _ensure_lake_tables(con: duckdb.DuckDBPyConnection) -> None:
    """The same tables in a DuckLake: same columns, types and NOT NULLs, no keys (DuckLake has
    none), partitioned by ``center_id`` so each center's rows live in files of their own."""
    with duckdb.connect() as scratch:
        for ddl in table_ddl():
            scratch.execute(ddl)
        columns = scratch.execute(
            "SELECT table_name, column_name, data_type, is_nullable FROM duckdb_columns() "
            "WHERE database_name = 'memory' ORDER BY table_name, column_index").fetchall()
    existing = {r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()").fetchall()}
    tables: dict[str, list[tuple[str, str, bool]]] = {}
    for table, column, data_type, nullable in columns:
        tables.setdefault(table, []).append((column, data_type, nullable))
    for table, cols in tables.items():
        if table in existing:
            continue
        body = ", ".join(f'"{c}" {t}{"" if n else " NOT NULL"}' for c, t, n in cols)
        con.execute(f"CREATE TABLE {table} ({body})")
        if any(c == "center_id" for c, _, _ in cols):
            con.execute(f"ALTER TABLE {table} SET PARTITIONED BY (center_id)")


def refresh_views(con: duckdb.DuckDBPyConnection, statements: list[str] | None = None) -> None:
    """(Re)create the analysis views: the study plan's generated ``statements`` (see
    ``harmonise.analysis.plan_sql``), or by default the reference study's, kept in
    ``sql/3*.sql``; either way also the warehouse's own views that no plan generates
    (``v_quality_change``): every ``sql/3*.sql`` view the statements do not define."""
    files = [path.read_text(encoding="utf-8") for path in sql_files(("3",))]
    if statements is not None:
        own = [text for path, text in zip(sql_files(("3",)), files)
               if not any(f"VIEW {path.stem.split('_', 1)[1]} " in s for s in statements)]
        files = [*statements, *own]
    for text in files:
        con.execute(text)


def write_study_config(con: duckdb.DuckDBPyConnection, cutoff: dt.date) -> None:
    """Store the study settings the views read (today: the data cut-off)."""
    con.execute("DELETE FROM study_config WHERE key = 'cutoff_date'")  # (DuckLake has no keys)
    con.execute("INSERT INTO study_config VALUES ('cutoff_date', ?)", [cutoff.isoformat()])


def write_reference_codes(con: duckdb.DuckDBPyConnection, book: CodeBook | None = None) -> None:
    """Rewrite ``ref_code`` from the study's code lists (``schemas/codes.yaml`` and the
    project's ``codes.yaml``: labels and groups for SQL users)."""
    rows = []
    for vocabulary, entries in (book or builtin()).vocabularies().items():
        for order, (code, attrs) in enumerate(entries.items(), start=1):
            group = attrs.get("group") or attrs.get("class")
            rows.append((vocabulary, str(code), attrs.get("label", str(code)), group, order))
    con.execute("DELETE FROM ref_code")
    con.executemany("INSERT INTO ref_code VALUES (?, ?, ?, ?, ?)", rows)


def write_conventions(con: duckdb.DuckDBPyConnection, cutoff: dt.date,
                      views: list[str] | None = None, book: CodeBook | None = None) -> None:
    """Reference codes, study settings and views (inside the caller's transaction);
    ``views``: the plan's view statements (:func:`refresh_views`); ``book``: the study's codes."""
    write_reference_codes(con, book)
    write_study_config(con, cutoff)
    refresh_views(con, views)


def prepare(con: duckdb.DuckDBPyConnection, cutoff: dt.date,
            views: list[str] | None = None) -> None:
    """Everything a run needs before loading centers: tables, codes, settings, views.

    Codes, settings and views change in one transaction, so a reader never sees the
    warehouse without its cut-off.
    """
    ensure_tables(con)
    con.execute("BEGIN TRANSACTION")
    try:
        write_conventions(con, cutoff, views)
        con.execute("COMMIT")
    except BaseException:
        rollback(con)
        raise


def table_checksum(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """sha256 over every row of ``table`` in a stable order: equal checksums = equal contents."""
    columns = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
    order = ", ".join(f'"{c}"' for c in columns)
    digest = hashlib.sha256()
    for row in con.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall():
        digest.update(repr(row).encode())
    return digest.hexdigest()


#: The last attempt of each center, from ``load_log`` (used by ``harmonise status``).
LAST_ATTEMPTS_SQL = """
WITH last AS (
    SELECT center_id, max(run_id) AS run_id FROM load_log GROUP BY center_id
)
SELECT l.center_id, max(l.finished_at)::VARCHAR AS finished, any_value(l.status) AS status,
       string_agg(l.file_name, ', ' ORDER BY l.file_name) AS files,
       sum(l.rows_read) AS rows_read, sum(l.rows_loaded) AS rows_loaded,
       sum(l.rows_quarantined) AS rows_quarantined, any_value(l.message) AS message
FROM load_log l JOIN last USING (center_id, run_id)
GROUP BY l.center_id ORDER BY l.center_id
"""
