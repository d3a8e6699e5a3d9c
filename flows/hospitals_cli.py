"""``harmonise hospitals deploy|run``: the per-hospital deployment on a Prefect work pool.

The workers themselves are Prefect's own: ``prefect worker start --pool harmonise-hospitals
--work-queue <center>`` at each hospital (docs/operations.md, "Scaling out").
"""
from __future__ import annotations

from typing import List, Optional

import typer
from rich.markup import escape

from harmonise.flows.cli_options import ExitCode
from harmonise.flows.output import console, error

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="A Prefect worker per hospital: register the deployments, run the fan-out. "
                       "Example: harmonise hospitals deploy; then harmonise hospitals run")

POOL_HELP = "Prefect work pool the hospitals' workers poll."


def _need_server() -> None:
    from harmonise.flows.temporary_server import user_api_url
    if not user_api_url():
        error("[bold red]The hospitals' workers and the coordinator share a Prefect server.[/] "
              "Start one (`prefect server start`) and set PREFECT_API_URL, e.g. "
              "http://127.0.0.1:4200/api.")
        raise typer.Exit(ExitCode.CANNOT_START)


@app.command()
def deploy(
    center: Optional[List[str]] = typer.Option(None, "--center", help="Center to deploy (repeat; "
                                               "default: every center with a mapping file)."),
    pool: str = typer.Option("harmonise-hospitals", help=POOL_HELP),
) -> None:
    """Create the process work pool and one deployment per center (work queue = center id).

    Example: harmonise hospitals deploy
             prefect worker start --pool harmonise-hospitals --work-queue site_a   # at hospital A
    """
    _need_server()
    from harmonise.flows import hospitals, steps
    from harmonise.flows.project import current
    names = hospitals.deploy(steps.centers_to_run(current(), center), pool)
    for name in names:
        console.print(f"deployment {escape(name)} on pool {escape(pool)}, queue "
                      f"{escape(name.split('/')[-1])}")


@app.command("run")
def run_all(
    center: Optional[List[str]] = typer.Option(None, "--center", help="Center to run (repeat; "
                                               "default: every center with a mapping file)."),
    demo_key: bool = typer.Option(False, "--demo-key", help="Use the public demo pseudonymisation "
                                  "key (synthetic data only)."),
    force: bool = typer.Option(False, "--force", help="Reload centers whose export is unchanged."),
) -> None:
    """The coordinator: prepare the DuckLake, run every center at its hospital at once, wait
    for all of them, record the data freeze, write the report.

    Example: harmonise hospitals run
    """
    _need_server()
    from harmonise.flows import hospitals
    from harmonise.flows.progress import summary_table
    try:
        results = hospitals.coordinate(centers=center or None, demo_key=demo_key, force=force)
    except ValueError as err:
        error(f"[bold red]Cannot start:[/] {escape(str(err))}")
        raise typer.Exit(ExitCode.CANNOT_START)
    console.print(summary_table(results))
    if any(r.status == "failed" for r in results):
        raise typer.Exit(ExitCode.PROBLEMS)


def register(parent: typer.Typer) -> None:
    """Add ``harmonise hospitals ...`` to the main command line."""
    parent.add_typer(app, name="hospitals")
