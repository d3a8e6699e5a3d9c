"""``harmonise run``, ``ingest`` and ``retire``: the commands that change the warehouse."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from harmonise.flows.cli_context import existing_warehouse, refuse, settings_for
from harmonise.flows.cli_options import (FORCE_HELP, FORCE_ONE_HELP, PROJECT, WAREHOUSE, ExitCode,
                                         load_options, verbosity_options)
from harmonise.flows.output import QUIET, console, error, info, verbosity
from harmonise.flows.progress import summary_table


def run_centers(centers: list[str] | None, cutoff: dt.date | None, demo: bool, inbox: Path | None,
                warehouse: Path | None, force: bool = False, wait: bool = False,
                project: Path | None = None, accept_drop: bool = False) -> None:
    from harmonise.flows import prefect_env, steps, temporary_server
    from harmonise.mappings.pseudonym import DEMO_KEY, PseudonymKeyError
    from harmonise.mappings.vocabulary import StudyVocabularyError, study_spellings
    from harmonise.schemas.study_codes import StudyCodesError, study_book

    cutoff_text = cutoff.isoformat() if cutoff else None
    inbox_text, warehouse_text = (str(p) if p else None for p in (inbox, warehouse))
    settings = settings_for(warehouse, project, demo, required=True,
                         **({"cutoff": cutoff} if cutoff else {}), **({"inbox": inbox} if inbox else {}))
    try:
        key = steps.pseudonym_key(settings)  # before Prefect starts: a missing key fails at once
        # and so does a wrong study codes.yaml or vocab/ file
        study_spellings(settings.vocab_dir, study_book(settings.codes_file))
    except (PseudonymKeyError, StudyVocabularyError, StudyCodesError) as err:
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
        refuse("bold yellow", "Not started", err, ExitCode.ALREADY_RUNNING)
    except WarehouseBusy as err:
        refuse("bold red", "Not started", err, ExitCode.ALREADY_RUNNING)
    except NotEnoughSpace as err:
        refuse("bold red", "Not started", err, ExitCode.CANNOT_START)
    if key == DEMO_KEY.encode():
        info("[bold yellow]DEMO MODE: synthetic data, public demo pseudonymisation key "
             "(never use it for real patients).[/]")
    if settings.project is not None and not demo:
        info(f"Project: {settings.project} ({settings.study or 'harmonise.yaml'})")
    from harmonise.flows import progress
    try:
        # Nothing changed (decided from hashes): no Prefect server, no report rewrite. With a
        # Prefect server configured, the flow runs so the run shows there too.
        results = None if force or temporary_server.user_api_url() else \
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
            temporary_server.ensure(settings.prefect_home)  # ends with this process, even killed
            from harmonise.flows.nightly import nightly, results_of
            with progress.shown():
                state = nightly(centers=centers, cutoff=cutoff_text, demo=demo, inbox=inbox_text,
                                warehouse=warehouse_text, force=force, wait=wait,
                                project=None if demo else str(settings.project),
                                accept_drop=accept_drop, return_state=True)
            results = results_of(state)
    except AlreadyRunning as err:
        refuse("bold yellow", "Not started", err, ExitCode.ALREADY_RUNNING)
    except WarehouseBusy as err:
        refuse("bold red", "Not published", err, ExitCode.ALREADY_RUNNING)
    except temporary_server.ServerDidNotStart as err:
        refuse("bold red", "Not started", err, ExitCode.CANNOT_START)
    if verbosity() == QUIET:
        counts = {s: sum(r.status == s for r in results) for s in ("loaded", "skipped", "failed")}
        console.print(", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no centers")
    else:
        console.print(summary_table(results))
        console.print(f"Warehouse: {settings.backend.describe()}  (quarantined rows: table `quarantine`)")
    if any(r.status == "failed" for r in results):
        raise typer.Exit(ExitCode.PROBLEMS)


@verbosity_options
@load_options(FORCE_HELP)
def run(options: dict) -> None:
    """Ingest every center that has a mapping file, then refresh the analysis views.

    Example: harmonise run --demo

    Exit status 0 when every center loaded or was unchanged, 1 when any failed (the others
    still load), 2 on a usage error, 3 when another run is going, 4 when it cannot start.
    """
    run_centers(None, **options)


@verbosity_options
@load_options(FORCE_ONE_HELP)
def ingest(
    center: str = typer.Argument(..., help="Center id, as in mappings/<center>.yaml."),
    options: dict = None,
) -> None:
    """Ingest one center only (its previous rows are replaced, other centers untouched).

    Example: harmonise ingest site_b --demo

    Exit status as for `harmonise run`.
    """
    run_centers([center], **options)


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
    settings = existing_warehouse(warehouse, project)
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
