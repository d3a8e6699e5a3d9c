"""The canonical tables' DDL, generated from their single declaration (``schemas/canonical.py``).

Each pandera model gives the columns, their types and whether they are required; its
``unique`` is the primary key; every table ends with the same ``LINEAGE`` columns. So a
column changed in the model changes the warehouse with it: no hand-written copy to drift.
"""
from __future__ import annotations

from harmonise.schemas.canonical import LINEAGE, TABLES, may_be_not_recorded

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


def canonical_ddl() -> list[str]:
    """The DDL of every canonical table, in load order (parents first)."""
    return [create_table(t) for t in TABLES]
