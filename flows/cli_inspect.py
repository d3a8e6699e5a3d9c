"""``harmonise status``, ``quality`` and ``sql``: reading the warehouse, never changing it."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from harmonise.flows.cli_context import existing_warehouse
from harmonise.flows.cli_options import PROJECT, WAREHOUSE, ExitCode, output_options, print_rows
from harmonise.flows.output import error, info
from harmonise.schemas.text import cut


STATUS_COLUMNS = ("center", "finished", "status", "files", "rows read", "loaded", "quarantined",
                  "message")
SNAPSHOT_COLUMNS = ("snapshot", "taken at", "kind", "message")


@output_options
def status(
    warehouse: Optional[Path] = WAREHOUSE,
    project: Optional[Path] = PROJECT,
    output: str = "table",
    snapshots: int = typer.Option(10, min=1, help="DuckLake: how many recent snapshots to list."),
) -> None:
    """Show the last load attempt of each center: when, which files, rows, outcome.

    On a DuckLake warehouse the table output also lists the recent snapshots (the "freeze"
    ones are the nightly runs' data freezes, for `harmonise report --as-of`).

    Example: harmonise status --json
    """
    from harmonise.warehouse import store
    settings = existing_warehouse(warehouse, project)
    from harmonise.warehouse import duplicates
    with settings.backend.connect(read_only=True) as con:
        rows = con.execute(store.LAST_ATTEMPTS_SQL).fetchall()
        twice = duplicates.likely(con)
    print_rows(STATUS_COLUMNS, rows, output,
               title=f"Last load per center ({settings.backend.describe()})")
    if twice and output == "table":
        pairs = "; ".join(f"{a} and {b}: {n}" for a, b, n in twice)
        error(f"[bold yellow]Likely the same patients at two centers[/] (the same "
              f"quasi-identifiers, safety.duplicate_fields, by keyed fingerprint): {escape(pairs)}. "
              "Check with the centers before pooling; see docs/operations.md.")
    if settings.backend.supports_snapshots and output == "table":
        print_rows(SNAPSHOT_COLUMNS, [(s.version, f"{s.taken_at:%Y-%m-%d %H:%M:%S %Z}", s.kind,
                                       s.message) for s in settings.backend.snapshots(snapshots)],
                   output, title="Recent snapshots (`harmonise report --as-of N` reproduces one)")


QUALITY_COLUMNS = ("center", "change", "table", "column", "rule", "rows now", "rows before",
                   "first seen", "run", "previous run")


@output_options
def quality(
    warehouse: Optional[Path] = WAREHOUSE,
    output: str = "table",
) -> None:
    """Show per center what is new, persisting and resolved in the quarantine since the last run.

    Counts are by table, column and rule (export rows); every run's findings are kept.

    Example: harmonise quality --csv
    """
    from harmonise.warehouse import quality as history
    settings = existing_warehouse(warehouse)
    with settings.backend.connect(read_only=True) as con:
        centers = history.changes(con)
    rows = [(c.center_id, f.change, f.table_name, f.column, f.rule, f.rows_now, f.rows_before,
             f.first_seen_at, c.run_id, c.previous_run_id) for c in centers for f in c.findings]
    if output == "table":
        print_rows(("center", "run", "since run", "new", "persisting", "resolved", "rows quarantined"),
                   [(c.center_id, c.run_id, c.previous_run_id or "(first run)", c.count("new"),
                     c.count("persisting"), c.count("resolved"), c.rows("new") + c.rows("persisting"))
                    for c in centers], title=f"Data quality since the last run ({settings.backend.describe()})")
        if not rows:
            return
    print_rows(QUALITY_COLUMNS, rows, output, title="Findings by table, column and rule")


@output_options
def sql(
    query: str = typer.Argument(..., help="One read-only query, e.g. \"SELECT * FROM v_patient\"."),
    warehouse: Optional[Path] = WAREHOUSE,
    project: Optional[Path] = PROJECT,
    limit: int = typer.Option(40, "--limit", min=1, help="Rows to show as a table (default 40); "
                              "the count of the rest follows. --csv/--json/--parquet give all rows."),
    parquet: Optional[Path] = typer.Option(None, "--parquet", dir_okay=False, metavar="FILE",
                                           help="Write the whole result to FILE as Parquet."),
    output: str = "table",
) -> None:
    """Run one read-only query on the warehouse: the first rows as a table, or all of them.

    The connection can read the warehouse only: no files, no network, no settings, one
    statement (see docs/operations.md). Save a result with --csv, --json or --parquet FILE.

    Example: harmonise sql "SELECT center_id, count(*) AS patients FROM v_patient GROUP BY ALL"
    """
    import duckdb

    from harmonise.flows.sql_output import show_rows
    from harmonise.warehouse import readonly
    settings = existing_warehouse(warehouse, project)
    if parquet is not None and output != "table":
        raise typer.BadParameter("choose one of --parquet, --json and --csv.", param_hint="--parquet")
    try:
        with readonly.open_locked(settings.warehouse, writable=parquet,
                                  backend=settings.backend if settings.storage == "ducklake" else None
                                  ) as con:
            text = readonly.one_query(con, query)
            if parquet is not None:
                written = readonly.write_parquet(con, text, parquet)
                info(f"{written:,} rows written to {parquet}")
                return
            cursor = con.execute(text)
            names = [d[0] for d in cursor.description]
            if output != "table":
                print_rows(names, cursor.fetchall(), output)
                return
            rows = cursor.fetchmany(limit + 1)
            total = len(rows) if len(rows) <= limit else readonly.count_rows(con, text)
            show_rows(names, rows[:limit], total)
    except readonly.QueryRefused as err:
        error(f"[bold red]Not run:[/] {escape(str(err))}")
        raise typer.Exit(ExitCode.PROBLEMS)
    except duckdb.Error as err:
        error(f"[bold red]SQL error:[/] {escape(cut(str(err)))}")
        raise typer.Exit(ExitCode.PROBLEMS)
