"""``harmonise report``: the pooled-analysis report of the warehouse (or of a data freeze)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from harmonise.flows.cli_context import existing_warehouse
from harmonise.flows.cli_options import PROJECT, WAREHOUSE, one_of, verbosity_options
from harmonise.flows.output import console


@verbosity_options
def report(
    warehouse: Optional[Path] = WAREHOUSE,
    project: Optional[Path] = PROJECT,
    out: Optional[Path] = typer.Option(None, file_okay=False,
                                       help="Output folder (default: the report folder beside the "
                                            "warehouse, <home>/report for the default one)."),
    transform: str = typer.Option("log", parser=one_of("log", "log-log", "plain"),
                                  help="95% CI transform of survival curves: log (R's default), "
                                       "log-log (SAS, lifelines) or plain."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="DuckLake only: report the warehouse "
                                        "as it was at a snapshot (a number from `harmonise status`) "
                                        "or at a date's last data freeze (YYYY-MM-DD)."),
    shareable: bool = typer.Option(False, "--shareable", help="Write the shareable report instead "
                                   "(into report-shareable/ beside the report folder): counts below "
                                   "the project's report.small_cell_threshold (default 5), and the "
                                   "cells that would give them back, withheld."),
    png: bool = typer.Option(False, "--png", help="Also write each figure panel as a PNG at 300 dpi "
                             "(for a journal), whatever the project's report.figure_formats says."),
) -> None:
    """Write the pooled-analysis report: report.html, figures/*.svg, numbers/*.csv and report.json.

    Example: harmonise report --transform log-log
             harmonise report --as-of 2026-11-30 --out var/report-freeze-2026-11-30
             harmonise report --shareable    # small cells withheld: for the consortium
             harmonise report --png          # also a PNG at 300 dpi per figure panel
    """
    from harmonise.flows.report_step import write_report
    from harmonise.warehouse.backend import StorageError
    settings = existing_warehouse(warehouse, project)
    try:
        version = settings.backend.resolve_as_of(as_of) if as_of else None
    except StorageError as err:
        raise typer.BadParameter(str(err), param_hint="--as-of")
    path = write_report(settings, transform=transform, out_dir=out, as_of=version,
                          shareable=shareable, png=png)
    console.print(f"Report: {path}" + (f"  (snapshot {version})" if version is not None else ""))
