"""The ``harmonise`` command line. Each command is a thin shell over the flows and steps.

Examples::

    harmonise run --demo                 # ingest the bundled synthetic exports
    harmonise run                        # ingest var/inbox/<center>/ for every mapped center
    harmonise ingest site_b              # one center only
    harmonise status                     # last attempt per center
    harmonise report                     # the pooled analyses as HTML, PNG, CSV and JSON
    harmonise profile EXPORT             # onboarding a center: profile, draft, dry run
    harmonise new-center site_d --export EXPORT
    harmonise check site_d
    harmonise serve --cron "0 2 * * *"   # schedule the nightly flow (needs a Prefect server)
"""
from __future__ import annotations

import os
from typing import Optional

import typer
from rich.markup import escape

from harmonise.flows import onboarding
from harmonise.flows.progress import console, summary_table

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Pool hospital exports into one DuckDB warehouse and analyse them.")

CUTOFF_HELP = "Data cut-off, YYYY-MM-DD (default 2024-05-25). Dates after it are rejected."
DEMO_HELP = "Use the bundled synthetic exports (demo/exports) and the public demo key."
FORCE_HELP = "Reload every center even when its export is unchanged since the last load."
WAIT_HELP = "If another run is going, wait for it to finish instead of stopping."


def _run(centers: list[str] | None, cutoff: str | None, demo: bool, inbox: str | None,
         warehouse: str | None, force: bool = False, wait: bool = False) -> None:
    from harmonise.flows import steps
    from harmonise.flows.nightly import run_settings
    from harmonise.mappings.pseudonym import PseudonymKeyError

    settings = run_settings(cutoff=cutoff, demo=demo, inbox=inbox, warehouse=warehouse)
    try:
        steps.pseudonym_key(settings)  # before Prefect starts: a missing key fails at once
    except PseudonymKeyError as err:
        console.print(f"[bold red]Cannot start:[/] {escape(str(err))}")
        raise typer.Exit(2)
    if demo:
        console.print("[bold yellow]DEMO MODE: synthetic data, public demo pseudonymisation key "
                      "(never use it for real patients).[/]")
    from harmonise.flows.nightly import nightly
    from harmonise.flows.runlock import AlreadyRunning
    try:
        results = nightly(centers=centers, cutoff=cutoff, demo=demo, inbox=inbox,
                          warehouse=warehouse, force=force, wait=wait)
    except AlreadyRunning as err:
        console.print(f"[bold yellow]Not started:[/] {escape(str(err))}")
        raise typer.Exit(3)
    console.print(summary_table(results))
    console.print(f"Warehouse: {settings.warehouse}  (quarantined rows: table `quarantine`)")
    if any(r.status == "failed" for r in results):
        raise typer.Exit(1)


@app.command()
def run(
    cutoff: Optional[str] = typer.Option(None, help=CUTOFF_HELP),
    demo: bool = typer.Option(False, "--demo", help=DEMO_HELP),
    inbox: Optional[str] = typer.Option(None, help="Folder holding <center>/ export folders."),
    warehouse: Optional[str] = typer.Option(None, help="Warehouse file (default var/warehouse.duckdb)."),
    force: bool = typer.Option(False, "--force", help=FORCE_HELP),
    wait: bool = typer.Option(False, "--wait", help=WAIT_HELP),
) -> None:
    """Ingest every center that has a mapping file, then refresh the analysis views.

    Example: harmonise run --demo
    Exit status 0 when every center loaded or was unchanged, 1 when any failed (the others
    still load), 2 when the run could not start, 3 when another run is going.
    """
    _run(None, cutoff, demo, inbox, warehouse, force, wait)


@app.command()
def ingest(
    center: str = typer.Argument(..., help="Center id, as in mappings/<center>.yaml."),
    cutoff: Optional[str] = typer.Option(None, help=CUTOFF_HELP),
    demo: bool = typer.Option(False, "--demo", help=DEMO_HELP),
    inbox: Optional[str] = typer.Option(None, help="Folder holding <center>/ export folders."),
    warehouse: Optional[str] = typer.Option(None, help="Warehouse file (default var/warehouse.duckdb)."),
    force: bool = typer.Option(False, "--force", help=FORCE_HELP),
    wait: bool = typer.Option(False, "--wait", help=WAIT_HELP),
) -> None:
    """Ingest one center only (its previous rows are replaced, other centers untouched).

    Example: harmonise ingest site_b --demo
    """
    _run([center], cutoff, demo, inbox, warehouse, force, wait)


@app.command()
def report(
    warehouse: Optional[str] = typer.Option(None, help="Warehouse file (default var/warehouse.duckdb)."),
    out: Optional[str] = typer.Option(None, help="Output folder (default var/report)."),
    transform: str = typer.Option("log", help="95% CI transform of survival curves: log (R's default), "
                                             "log-log (SAS, lifelines) or plain."),
) -> None:
    """Write the pooled-analysis report: report.html, figures/*.png, numbers/*.csv and report.json.

    Example: harmonise report --transform log-log
    """
    from pathlib import Path

    from harmonise.flows import steps
    from harmonise.flows.settings import Settings
    settings = Settings(**({"warehouse": warehouse} if warehouse else {}))
    if not settings.warehouse.exists():
        console.print(f"No warehouse at {settings.warehouse} yet: run `harmonise run` first.")
        raise typer.Exit(1)
    if transform not in ("log", "log-log", "plain"):
        console.print(f"Unknown transform '{escape(transform)}': use log, log-log or plain.")
        raise typer.Exit(2)
    path = steps.write_report(settings, transform=transform, out_dir=Path(out) if out else None)
    console.print(f"Report: {path}")


@app.command()
def serve(
    cron: str = typer.Option("0 2 * * *", help="When to run, as a cron expression (default 02:00 daily)."),
    demo: bool = typer.Option(False, "--demo", help=DEMO_HELP),
) -> None:
    """Schedule the nightly flow on a cron and wait for runs (needs a Prefect server).

    Example: prefect server start &  export PREFECT_API_URL=http://127.0.0.1:4200/api
             harmonise serve --cron "0 2 * * *"
    """
    if not os.environ.get("PREFECT_API_URL"):
        console.print("[bold red]harmonise serve needs a Prefect server to keep the schedule.[/]\n"
                      "Start one with `prefect server start` and set "
                      "PREFECT_API_URL=http://127.0.0.1:4200/api, or schedule `harmonise run` "
                      "with the system's cron instead (see README).")
        raise typer.Exit(2)
    from prefect import serve as prefect_serve

    from harmonise.flows.nightly import build_deployment
    deployment = build_deployment(cron=cron, **({"demo": True} if demo else {}))
    console.print(f"Serving flow 'nightly' on cron '{cron}'. Stop with Ctrl+C.")
    prefect_serve(deployment)


@app.command()
def status(
    warehouse: Optional[str] = typer.Option(None, help="Warehouse file (default var/warehouse.duckdb)."),
) -> None:
    """Show the last load attempt of each center: when, which files, rows, outcome.

    Example: harmonise status
    """
    from rich.table import Table

    from harmonise.flows.settings import Settings
    from harmonise.warehouse import store
    settings = Settings(**({"warehouse": warehouse} if warehouse else {}))
    if not settings.warehouse.exists():
        console.print(f"No warehouse at {settings.warehouse} yet: run `harmonise run` first.")
        raise typer.Exit(1)
    with store.connect(settings.warehouse, read_only=True) as con:
        rows = con.execute(store.LAST_ATTEMPTS_SQL).fetchall()
    table = Table(title=f"Last load per center ({settings.warehouse})")
    for name in ("center", "finished", "status", "files", "rows read", "loaded", "quarantined", "message"):
        table.add_column(name)
    for row in rows:
        table.add_row(*["" if v is None else escape(str(v)) for v in row])
    console.print(table)


@app.command()
def sql(
    query: str = typer.Argument(..., help="SQL to run, e.g. \"SELECT * FROM v_patient LIMIT 5\"."),
    warehouse: Optional[str] = typer.Option(None, help="Warehouse file (default var/warehouse.duckdb)."),
) -> None:
    """Run one read-only SQL query on the warehouse and print the result as a table.

    Example: harmonise sql "SELECT center_id, count(*) AS patients FROM v_patient GROUP BY ALL"
    """
    import duckdb
    from rich.table import Table

    from harmonise.flows.settings import Settings
    from harmonise.warehouse import store
    settings = Settings(**({"warehouse": warehouse} if warehouse else {}))
    if not settings.warehouse.exists():
        console.print(f"No warehouse at {settings.warehouse} yet: run `harmonise run` first.")
        raise typer.Exit(1)
    with store.connect(settings.warehouse, read_only=True) as con:
        try:
            cursor = con.execute(query)
            rows, names = cursor.fetchall(), [d[0] for d in cursor.description]
        except duckdb.Error as err:
            console.print(f"[bold red]SQL error:[/] {err}")
            raise typer.Exit(1)
    table = Table()
    for name in names:
        table.add_column(name)
    for row in rows:
        table.add_row(*["" if v is None else escape(str(v)) for v in row])
    console.print(table)


onboarding.register(app)  # harmonise profile, harmonise new-center, harmonise check


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
