"""The ``harmonise`` command line. Each command is a thin shell over the flows and steps.

Examples::

    harmonise run --demo                 # ingest the bundled synthetic exports
    harmonise init --example study       # a project folder: the reference study
    harmonise run                        # in a project: ingest inbox/<center>/ for every mapped center
    harmonise ingest site_b              # one center only
    harmonise status --json              # last attempt per center (also --csv)
    harmonise report                     # the pooled analyses as HTML, PNG, CSV and JSON
    harmonise profile EXPORT             # onboarding a center: profile, draft, dry run
    harmonise new-center site_d --export EXPORT
    harmonise check site_d
    harmonise serve --cron "0 2 * * *"   # schedule the nightly flow (needs a Prefect server)

Shared options, exit codes and the row printer live in ``flows/cli_options.py``.
"""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from harmonise.flows import hospitals_cli, onboarding
from harmonise.flows.cli_options import (CUTOFF, DEMO, INBOX, PROJECT, WAREHOUSE, ExitCode, one_of,
                                         output_options, print_rows, verbosity_options)
from harmonise.flows.output import QUIET, console, error, info, verbosity
from harmonise.flows.progress import summary_table
from harmonise.schemas.text import cut

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, pretty_exceptions_enable=False,
                  help="Pool hospital exports into one DuckDB warehouse and analyse them.")

FORCE_HELP = "Reload every center even when its export is unchanged since the last load."
FORCE_ONE_HELP = "Reload this center even when its export is unchanged since the last load."
WAIT_HELP = "If another run is going, wait for it to finish instead of stopping."
ACCEPT_DROP_HELP = ("Confirm a load that would remove most (or all) of a center's patients; "
                    "without it such a load fails and the previous rows stay.")


def _version(value: bool) -> None:
    if value:
        from harmonise.pipeline.identity import harmonise_version
        console.print(f"harmonise {harmonise_version()}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """Pool hospital exports into one DuckDB warehouse and analyse them.

    Exit codes: 0 done; 1 done with problems (a center failed, a check is not clean);
    2 usage error; 3 another run is going; 4 cannot start (no key, no warehouse, no server).
    """


def _settings(warehouse: Optional[Path] = None, project: Optional[Path] = None, demo: bool = False,
              required: bool = False, **options):
    """The command's settings: the demo, or the project (``--project``, $HARMONISE_PROJECT,
    the current folder or above); a bad or missing project exits 4 with what to do."""
    from harmonise.flows.project import ProjectError, resolve
    try:
        return resolve(project, demo=demo, required=required,
                       **({"warehouse": warehouse} if warehouse else {}), **options)
    except ProjectError as err:
        error(f"[bold red]Cannot start:[/] {escape(str(err))}")
        raise typer.Exit(ExitCode.CANNOT_START)


def _existing_warehouse(warehouse: Optional[Path], project: Optional[Path] = None):
    """Settings of a warehouse that must exist (else exit 4 with what to do)."""
    from harmonise.warehouse.backend import StorageError
    settings = _settings(warehouse, project)
    try:
        exists = settings.backend.exists()
    except StorageError as err:
        error(f"[bold red]Cannot open the warehouse:[/] {escape(str(err))}")
        raise typer.Exit(ExitCode.CANNOT_START)
    if not exists:
        error(f"No warehouse at {settings.backend.describe()} yet: run `harmonise run` first.")
        raise typer.Exit(ExitCode.CANNOT_START)
    return settings


def _run(centers: list[str] | None, cutoff: dt.date | None, demo: bool, inbox: Path | None,
         warehouse: Path | None, force: bool = False, wait: bool = False,
         project: Path | None = None, accept_drop: bool = False) -> None:
    from harmonise.flows import prefect_env, steps
    from harmonise.mappings.pseudonym import DEMO_KEY, PseudonymKeyError
    from harmonise.mappings.vocabulary import StudyVocabularyError, study_spellings

    cutoff_text = cutoff.isoformat() if cutoff else None
    inbox_text, warehouse_text = (str(p) if p else None for p in (inbox, warehouse))
    settings = _settings(warehouse, project, demo, required=True,
                         **({"cutoff": cutoff} if cutoff else {}), **({"inbox": inbox} if inbox else {}))
    try:
        key = steps.pseudonym_key(settings)  # before Prefect starts: a missing key fails at once
        study_spellings(settings.vocab_dir)  # and so does a wrong study vocab/ file
    except (PseudonymKeyError, StudyVocabularyError) as err:
        error(f"[bold red]Cannot start:[/] {escape(str(err))}")
        raise typer.Exit(ExitCode.CANNOT_START)
    from harmonise.flows.runlock import AlreadyRunning
    from harmonise.warehouse.publish import NotEnoughSpace, WarehouseBusy
    try:
        steps.preflight(settings, wait)  # before Prefect starts: a quick, quiet refusal
        from harmonise.mappings.pseudonym import key_file_warning
        for warning in (key_file_warning(), steps.mixed_key_warning(
                settings, key, centers or steps.centers_to_run(settings))):
            if warning:
                error(f"[bold yellow]Warning:[/] {escape(warning)}")
    except AlreadyRunning as err:
        _refuse("bold yellow", "Not started", err, ExitCode.ALREADY_RUNNING)
    except WarehouseBusy as err:
        _refuse("bold red", "Not started", err, ExitCode.ALREADY_RUNNING)
    except NotEnoughSpace as err:
        _refuse("bold red", "Not started", err, ExitCode.CANNOT_START)
    if key == DEMO_KEY.encode():
        info("[bold yellow]DEMO MODE: synthetic data, public demo pseudonymisation key "
             "(never use it for real patients).[/]")
    if settings.project is not None and not demo:
        info(f"Project: {settings.project} ({settings.study or 'harmonise.yaml'})")
    from harmonise.flows import progress
    try:
        # Nothing changed (decided from hashes): no Prefect server, no report rewrite. With a
        # Prefect server configured, the flow runs so the run shows there too.
        results = None if force or os.environ.get("PREFECT_API_URL") else \
            steps.run_if_unchanged(settings, centers, wait)
        if results is not None:
            with progress.shown() as display:
                display.start([r.center for r in results])
                for result in results:
                    display.center_finished(result)
                display.step(f"Report: {settings.report_dir / 'report.html'} (unchanged)")
                display.finish()
        else:
            prefect_env.configure(settings.prefect_home)   # before Prefect is imported
            from harmonise.flows.nightly import nightly, results_of
            with progress.shown():
                state = nightly(centers=centers, cutoff=cutoff_text, demo=demo, inbox=inbox_text,
                                warehouse=warehouse_text, force=force, wait=wait,
                                project=None if demo else str(settings.project),
                                accept_drop=accept_drop, return_state=True)
            results = results_of(state)
    except AlreadyRunning as err:
        _refuse("bold yellow", "Not started", err, ExitCode.ALREADY_RUNNING)
    except WarehouseBusy as err:
        _refuse("bold red", "Not published", err, ExitCode.ALREADY_RUNNING)
    if verbosity() == QUIET:
        counts = {s: sum(r.status == s for r in results) for s in ("loaded", "skipped", "failed")}
        console.print(", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no centers")
    else:
        console.print(summary_table(results))
        console.print(f"Warehouse: {settings.backend.describe()}  (quarantined rows: table `quarantine`)")
    if any(r.status == "failed" for r in results):
        raise typer.Exit(ExitCode.PROBLEMS)



def _refuse(style: str, label: str, err: Exception, code: ExitCode):
    """Print why a run did not start or publish, on stderr, and exit with its documented code."""
    error(f"[{style}]{label}:[/] {escape(str(err))}")
    raise typer.Exit(code)

@app.command()
@verbosity_options
def run(
    cutoff: Optional[dt.date] = CUTOFF,
    demo: bool = DEMO,
    project: Optional[Path] = PROJECT,
    inbox: Optional[Path] = INBOX,
    warehouse: Optional[Path] = WAREHOUSE,
    force: bool = typer.Option(False, "--force", help=FORCE_HELP),
    wait: bool = typer.Option(False, "--wait", help=WAIT_HELP),
    accept_drop: bool = typer.Option(False, "--accept-drop", help=ACCEPT_DROP_HELP),
) -> None:
    """Ingest every center that has a mapping file, then refresh the analysis views.

    Example: harmonise run --demo

    Exit status 0 when every center loaded or was unchanged, 1 when any failed (the others
    still load), 2 on a usage error, 3 when another run is going, 4 when it cannot start.
    """
    _run(None, cutoff, demo, inbox, warehouse, force, wait, project, accept_drop)


@app.command()
@verbosity_options
def ingest(
    center: str = typer.Argument(..., help="Center id, as in mappings/<center>.yaml."),
    cutoff: Optional[dt.date] = CUTOFF,
    demo: bool = DEMO,
    project: Optional[Path] = PROJECT,
    inbox: Optional[Path] = INBOX,
    warehouse: Optional[Path] = WAREHOUSE,
    force: bool = typer.Option(False, "--force", help=FORCE_ONE_HELP),
    wait: bool = typer.Option(False, "--wait", help=WAIT_HELP),
    accept_drop: bool = typer.Option(False, "--accept-drop", help=ACCEPT_DROP_HELP),
) -> None:
    """Ingest one center only (its previous rows are replaced, other centers untouched).

    Example: harmonise ingest site_b --demo

    Exit status as for `harmonise run`.
    """
    _run([center], cutoff, demo, inbox, warehouse, force, wait, project, accept_drop)


@app.command()
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
) -> None:
    """Write the pooled-analysis report: report.html, figures/*.png, numbers/*.csv and report.json.

    Example: harmonise report --transform log-log
             harmonise report --as-of 2026-11-30 --out var/report-freeze-2026-11-30
    """
    from harmonise.flows import steps
    from harmonise.warehouse.backend import StorageError
    settings = _existing_warehouse(warehouse, project)
    try:
        version = settings.backend.resolve_as_of(as_of) if as_of else None
    except StorageError as err:
        raise typer.BadParameter(str(err), param_hint="--as-of")
    path = steps.write_report(settings, transform=transform, out_dir=out, as_of=version)
    console.print(f"Report: {path}" + (f"  (snapshot {version})" if version is not None else ""))


@app.command()
@verbosity_options
def serve(
    cron: str = typer.Option("0 2 * * *", help="When to run, as a cron expression (default 02:00 daily)."),
    timezone: Optional[str] = typer.Option(None, help="Time zone of the cron, an IANA name such as "
                                                      "Europe/Paris (default: the project's schedule.timezone, UTC)."),
    demo: bool = DEMO,
    project: Optional[Path] = PROJECT,
) -> None:
    """Schedule the nightly flow on a cron and wait for runs (needs a Prefect server).

    Example: prefect server start &  export PREFECT_API_URL=http://127.0.0.1:4200/api
             harmonise serve --cron "0 2 * * *" --timezone Europe/Paris
    """
    from harmonise.flows.settings import check_timezone
    if timezone:
        try:
            check_timezone(timezone)
        except ValueError as err:
            raise typer.BadParameter(str(err), param_hint="--timezone")
    if not os.environ.get("PREFECT_API_URL"):
        error("[bold red]harmonise serve needs a Prefect server to keep the schedule.[/]\n"
              "Start one with `prefect server start` and set "
              "PREFECT_API_URL=http://127.0.0.1:4200/api, or schedule `harmonise run` "
              "with the system's cron instead (see README).")
        raise typer.Exit(ExitCode.CANNOT_START)
    settings = _settings(project=project, demo=demo, required=True)
    zone = timezone or settings.timezone
    try:
        check_timezone(zone)
    except ValueError as err:   # from harmonise.yaml (schedule.timezone)
        error(f"[bold red]Cannot start:[/] schedule.timezone in harmonise.yaml: {escape(str(err))}")
        raise typer.Exit(ExitCode.CANNOT_START)
    from prefect import serve as prefect_serve

    from harmonise.flows.nightly import build_deployment
    deployment = build_deployment(cron=cron, timezone=zone,
                                  **({"demo": True} if demo else {"project": str(settings.project)}))
    info(f"Serving flow 'nightly' on cron '{cron}' ({zone}). Stop with Ctrl+C.")
    prefect_serve(deployment)


@app.command()
@verbosity_options
def init(
    directory: Path = typer.Argument(..., help="The new project folder (must not exist, or be empty)."),
    example: bool = typer.Option(False, "--example", help="Write the reference study (three synthetic "
                                 "centers, their exports, the plan and its published numbers)."),
) -> None:
    """Create a study project folder: harmonise.yaml, mappings/, vocab/, inbox/.

    Example: harmonise init --example study && cd study && harmonise run && harmonise report
    """
    from harmonise.flows.project import ProjectError
    from harmonise.flows.scaffold import init_project
    try:
        root = init_project(directory, example=example)
    except ProjectError as err:
        error(f"[bold red]Cannot create the project:[/] {escape(str(err))}")
        raise typer.Exit(ExitCode.USAGE)
    info(f"Created {'the example project' if example else 'an empty project'} in {root}.")
    if example:
        info(f"Next: cd {directory} && harmonise run && harmonise report  (synthetic data, public demo key)")
    else:
        info(f"Next: edit {root / 'harmonise.yaml'}, put exports in inbox/<center>/, then "
             "`harmonise new-center CENTER EXPORT...` (docs/adding-a-center.md).")


STATUS_COLUMNS = ("center", "finished", "status", "files", "rows read", "loaded", "quarantined",
                  "message")
SNAPSHOT_COLUMNS = ("snapshot", "taken at", "kind", "message")


@app.command()
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
    settings = _existing_warehouse(warehouse, project)
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


@app.command()
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
    settings = _existing_warehouse(warehouse)
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


@app.command()
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
    settings = _existing_warehouse(warehouse, project)
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


@app.command()
def retire(
    center: str = typer.Argument(..., help="Center id whose rows to remove from the warehouse."),
    warehouse: Optional[Path] = WAREHOUSE,
    project: Optional[Path] = PROJECT,
    yes: bool = typer.Option(False, "--yes", help="Confirm: the center's rows are deleted."),
) -> None:
    """Remove a center that left the study: its rows, quarantine and private store.

    Example: harmonise retire site_x --yes   (then delete or archive its mapping file)
    """
    from harmonise.flows import steps
    from harmonise.flows.runlock import AlreadyRunning, run_lock
    settings = _existing_warehouse(warehouse, project)
    if not yes:
        error(f"This deletes every row of {escape(center)} from {settings.warehouse}. "
              "Run again with --yes to confirm.")
        raise typer.Exit(ExitCode.USAGE)
    try:
        with run_lock(steps.lock_path(settings)):
            build = steps.begin_build(settings)
            removed = steps.retire_center(center, build, steps.new_run_id())
            steps.publish_build(build, settings)
    except AlreadyRunning as err:
        error(f"[bold yellow]Not started:[/] {escape(str(err))}")
        raise typer.Exit(ExitCode.ALREADY_RUNNING)
    console.print(f"{escape(center)} retired: {removed.get('patient', 0)} patients and "
                  f"{sum(removed.values())} rows removed. Delete or archive mappings/{escape(center)}.yaml "
                  "so the next run does not load it again.")


onboarding.register(app)  # harmonise profile, harmonise new-center, harmonise check
hospitals_cli.register(app)  # harmonise hospitals deploy, harmonise hospitals run


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
