"""What a person sees while a run goes: one line per center, then a summary table."""
from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from harmonise.flows.output import error, info

STATUS_STYLE = {"loaded": "green", "failed": "bold red", "skipped": "yellow"}


def show_result(result) -> None:
    """One progress line for a finished center."""
    style = STATUS_STYLE.get(result.status, "")
    if result.status == "loaded":
        info(f"[{style}]✓[/] {result.center}: {result.patients_loaded} patients loaded, "
             f"{result.rows_quarantined} rows quarantined ({result.rows_read} rows read)")
    elif result.status == "skipped":
        info(f"[{style}]=[/] {result.center}: {escape(result.message or 'skipped')}")
    else:  # messages quote export content: never let it be read as markup
        error(f"[{style}]✗ {result.center} failed[/]: {escape(result.message or '')}")


def show_report(path: str | None, problem: str | None = None) -> None:
    """Where the report went, or why it could not be written (the loads stand either way)."""
    if path:
        info(f"Report: {path}")
    else:
        error(f"[bold red]The report could not be written:[/] {escape(problem or '')}")


def summary_table(results) -> Table:
    """center | rows read | loaded | quarantined | patients | status."""
    table = Table(title="harmonise run summary")
    for name, justify in (("center", "left"), ("rows read", "right"), ("loaded", "right"),
                          ("quarantined", "right"), ("patients", "right"), ("status", "left")):
        table.add_column(name, justify=justify)
    for r in results:
        style = STATUS_STYLE.get(r.status, "")
        table.add_row(r.center, str(r.rows_read), str(r.rows_loaded), str(r.rows_quarantined),
                      str(r.patients_loaded), f"[{style}]{r.status}[/]")
    return table
