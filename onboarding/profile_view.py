"""Print a profile for a data manager (rich): how the file reads, then one table per sheet."""
from __future__ import annotations

from harmonise.onboarding.id_values import looks_identifying
from harmonise.onboarding.identifiers import IDENTIFIER_LABELS
from harmonise.onboarding.profile import Profile
from harmonise.onboarding.reading import DELIMITER_NAMES
from harmonise.onboarding.repeated import repeated_measurements


# -- rendering -------------------------------------------------------------------------------
def _shorten(value: str, width: int = 24) -> str:
    value = value.replace("\n", " ")
    return value if len(value) <= width else value[:width - 1] + "…"


def render_profile(result: Profile, console=None) -> None:
    """Print a profile for a data manager: how the file reads, then one table per file/sheet."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = console or Console(highlight=False)
    console.print(f"[bold]{escape(str(result.path))}[/]")
    if result.format == "csv":
        name = DELIMITER_NAMES.get(result.delimiter, repr(result.delimiter))
        console.print(f"  format: CSV text   encoding: [bold]{result.encoding}[/] ({escape(result.encoding_note or '')})"
                      f"   delimiter: [bold]{escape(repr(result.delimiter))}[/] ({name})")
    else:
        listed = ", ".join(f"{escape(s.name)} ({s.rows} rows x {s.columns} columns)" for s in result.sheets)
        console.print(f"  format: Excel workbook, {len(result.sheets)} sheet(s): {listed}")
    for table in result.tables:
        title = f"sheet {table.sheet}: " if table.sheet is not None else ""
        grid = Table(title=escape(f"{title}{table.rows} rows, {len(table.columns)} columns"),
                     title_justify="left", show_lines=False)
        for heading, justify in (("column", "left"), ("type", "left"), ("empty", "right"),
                                 ("distinct", "right"), ("most frequent values (count)", "left"),
                                 ("date formats", "left")):
            grid.add_column(heading, justify=justify, overflow="fold")
        for col in table.columns:
            if col.hidden:
                values = f"[yellow](hidden: {escape(col.hidden)})[/]"
            else:  # a single identifying value in an unmarked column is hidden too
                values = escape(", ".join(f"{'(hidden)' if looks_identifying(v) else _shorten(v)} ({n})"
                                          for v, n in col.top))
            kind = col.type + (f" ({col.decimal} decimal)" if col.decimal != "." else "")
            grid.add_row(escape(col.name), kind, f"{100 * col.null_rate:.0f}%", str(col.distinct),
                         values, escape(" | ".join(col.date_formats)))
        console.print(grid)
        if table.header_row > 1:
            console.print(f"  [bold]Header on row {table.header_row}[/]: the {table.header_row - 1} row(s) "
                          "above it are a title block (`new-center` writes `header_row: "
                          f"{table.header_row}`).")
        if table.footer_rows:
            console.print(f"  [bold]Footer[/]: the last {table.footer_rows} row(s) are a summary or a note, "
                          f"not data (`new-center` writes `skip_footer: {table.footer_rows}`).")
        for name, cells in table.unsaved_formulas.items():
            console.print(f"  [bold yellow]Formula cells[/] in {escape(name)}: {cells} formula(s) whose result "
                          "the workbook never saved; they read as empty. Open the file in Excel or "
                          "LibreOffice and save it again, or export the values.")
        repeated = repeated_measurements(table)
        if repeated:
            console.print(f"  [bold]Repeated measurements[/]: {escape(repeated.describe())}: one row per "
                          "patient per assessment (`new-center` drafts `role: assessments` with "
                          "summaries into the outcome columns).")
        found = table.identifiers
        if found:
            console.print("  [bold yellow]Direct identifiers[/] (never stored; `new-center` marks them): "
                          + ", ".join(f"{escape(c.name)} ({IDENTIFIER_LABELS[c.identifier]})" for c in found))
        else:
            console.print("  No column looks like a direct identifier: check the headers anyway.")
