"""``harmonise init`` and ``serve``: a new study project, and its nightly schedule."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from harmonise.flows.cli_context import settings_for
from harmonise.flows.cli_options import DEMO, PROJECT, ExitCode, verbosity_options
from harmonise.flows.output import error, info


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
    from harmonise.flows.temporary_server import user_api_url
    if not user_api_url():
        error("[bold red]harmonise serve needs a Prefect server to keep the schedule.[/]\n"
              "Start one with `prefect server start` and set "
              "PREFECT_API_URL=http://127.0.0.1:4200/api, or schedule `harmonise run` "
              "with the system's cron instead (see README).")
        raise typer.Exit(ExitCode.CANNOT_START)
    settings = settings_for(project=project, demo=demo, required=True)
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
