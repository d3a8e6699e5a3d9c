"""How ``harmonise sql`` shows a result: the first rows, the count of the rest, NULL visibly.

Like the DuckDB command line: at most ``--limit`` rows (40 by default) as a table, then
how many more there are; a missing value prints as ``NULL`` (an empty string stays empty);
a result too wide for the terminal prints one record per block (``column  value`` lines,
like DuckDB's ``.mode line``) instead of a table squeezed into unreadable slivers.
"""
from __future__ import annotations

from typing import Any, Sequence

from rich.markup import escape
from rich.table import Table
from rich.text import Text

from harmonise.flows.output import console
from harmonise.schemas.text import MAX_QUOTED, cut

#: Narrowest readable column; more columns than the terminal holds at this width -> records.
MIN_COLUMN_WIDTH = 10
NULL = Text("NULL", style="dim")


def _cell(value: Any) -> Text:
    return NULL if value is None else Text(cut(str(value), MAX_QUOTED))


def show_rows(names: Sequence[str], rows: Sequence[Sequence[Any]], total: int) -> None:
    """Print ``rows`` (the first of ``total``) as a table, or as records when too wide."""
    if len(names) * MIN_COLUMN_WIDTH > console.width:
        _records(names, rows)
    else:
        table = Table()
        for name in names:
            table.add_column(escape(name), overflow="fold")
        for row in rows:
            table.add_row(*[_cell(v) for v in row])
        console.print(table)
    rest = total - len(rows)
    shown = f"{total:,} row{'s' if total != 1 else ''}"
    if rest > 0:
        console.print(f"{shown} in all; the first {len(rows):,} shown, {rest:,} more. Use --limit N "
                      "to see more, or --csv, --json or --parquet FILE for the whole result.")
    else:
        console.print(shown)


def _records(names: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    width = max(len(n) for n in names)
    for number, row in enumerate(rows, start=1):
        console.print(Text(f"── row {number} ──", style="bold"))
        for name, value in zip(names, row):
            line = Text(f"{name.rjust(width)}  ")
            line.append(_cell(value))
            console.print(line, soft_wrap=True)
