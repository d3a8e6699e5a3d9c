"""The canonical tables' and the quarantine's DDL, generated from their single declarations.

Each pandera model (``schemas/canonical.py``) gives the columns, their types and whether
they are required; its ``unique`` is the primary key; every table ends with the same
``LINEAGE`` columns. The quarantine table is the ``QuarantineRecord``'s stored fields and
rendered words (``schemas/quarantine.py``) and the ``load_id``. So a column changed in a
declaration changes the warehouse with it: no hand-written copy to drift.
"""
from __future__ import annotations

from harmonise.schemas.canonical import LINEAGE, TABLES, may_be_not_recorded
from harmonise.schemas.quarantine import QuarantineRecord, StoredColumn, stored_columns

#: pandera dtype (as text) -> DuckDB type.
SQL_TYPES = {"str": "VARCHAR", "Int64": "INTEGER", "int64": "BIGINT", "float64": "DOUBLE",
             "boolean": "BOOLEAN", "bool": "BOOLEAN", "datetime64[ns]": "DATE"}


def sql_type(dtype) -> str:
    """The DuckDB type of a pandera column type (a new type must be added here, loudly)."""
    try:
        return SQL_TYPES[str(dtype)]
    except KeyError:
        raise KeyError(f"no DuckDB type for the canonical dtype {dtype}: add it to "
                       "warehouse/ddl.py SQL_TYPES") from None


def create_table(table: str) -> str:
    """``CREATE TABLE IF NOT EXISTS`` for one canonical table, its grain in a header comment."""
    model = TABLES[table]
    schema = model.to_schema()
    grain = (model.__doc__ or "").strip().splitlines()[0]
    width = max(len(n) for n in [*schema.columns, *(c.name for c in LINEAGE)])
    lines = [f"-- Table {table}. Grain: {grain}",
             f"-- Generated from schemas/canonical.py ({model.__name__}) by warehouse/ddl.py.",
             *(f"-- lineage {c.name}: {c.description}" for c in LINEAGE),
             f"CREATE TABLE IF NOT EXISTS {table} ("]
    # A column an export may lack (``not_recorded:``) is NULL there, though validation requires it.
    body = [f"    {name:<{width}} {sql_type(column.dtype)}"
            + ("" if column.nullable or may_be_not_recorded(table, name) else " NOT NULL")
            for name, column in schema.columns.items()]
    body += [f"    {c.name:<{width}} {c.sql_type} NOT NULL" for c in LINEAGE]
    if schema.unique:
        body.append(f"    PRIMARY KEY ({', '.join(schema.unique)})")
    lines.append(",\n".join(body))
    lines.append(");")
    return "\n".join(lines)


#: Python type of a stored quarantine field -> DuckDB type.
STORED_TYPES = {str: "VARCHAR", int: "INTEGER"}


def quarantine_columns() -> tuple[StoredColumn, ...]:
    """Every column of the ``quarantine`` table: the declaration's, then the lineage's ``load_id``."""
    load_id = next(c for c in LINEAGE if c.name == "load_id")
    return (*stored_columns(), StoredColumn(load_id.name, str, True, load_id.description))


def stored_type(column: StoredColumn) -> str:
    """The DuckDB type of a stored quarantine column (a ``str`` enum is VARCHAR)."""
    for kind, sql in STORED_TYPES.items():
        if issubclass(column.kind, kind):
            return sql
    raise KeyError(f"no DuckDB type for the quarantine field {column.name} ({column.kind}): add it "
                   "to warehouse/ddl.py STORED_TYPES")


def quarantine_ddl() -> str:
    """``CREATE TABLE IF NOT EXISTS quarantine``, then every declared column added to a warehouse
    written before it was declared (empty in its old rows)."""
    columns = quarantine_columns()
    grain = (QuarantineRecord.__doc__ or "").strip().splitlines()[0]
    width = max(len(c.name) for c in columns)
    kinds = {c.name: stored_type(c) + (" NOT NULL" if c.required else "") for c in columns}
    body = ",\n".join(f"    {c.name:<{width}} {kinds[c.name]}" for c in columns)
    return "\n".join([
        f"-- Table quarantine. Grain: {grain}",
        "-- Rows here were NOT loaded. source_file + source_row point at the row in the export.",
        "-- Replaced per center at each load.",
        "-- Generated from schemas/quarantine.py (QuarantineRecord) by warehouse/ddl.py.",
        *(f"-- {c.name}: {c.description}" for c in columns),
        "CREATE TABLE IF NOT EXISTS quarantine (", body, ");",
        *(f"ALTER TABLE quarantine ADD COLUMN IF NOT EXISTS {c.name} {stored_type(c)};" for c in columns)])


def canonical_ddl() -> list[str]:
    """The DDL of every canonical table, in load order (parents first)."""
    return [create_table(t) for t in TABLES]
