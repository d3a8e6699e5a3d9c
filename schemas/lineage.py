"""The lineage columns every stored canonical row carries besides its contract."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LineageColumn:
    """A column every stored canonical row carries besides its contract: where it came from."""

    name: str
    sql_type: str
    description: str


#: Lineage of every stored canonical row (the warehouse adds it at load time).
LINEAGE = (
    LineageColumn("source_file", "VARCHAR", "export file name, as received"),
    LineageColumn("source_sha256", "VARCHAR", "sha256 of that file"),
    LineageColumn("source_row", "INTEGER", "row in the file as a spreadsheet shows it (header = 1)"),
    LineageColumn("mapping_version", "VARCHAR", "mapping_version of mappings/<center>.yaml"),
    LineageColumn("load_id", "VARCHAR", "content address of the load (see load_log)"),
)
