"""The ``harmonise`` command line. Each command is a thin shell over the flows and steps.

Examples::

    harmonise run --demo                 # ingest the bundled synthetic exports
    harmonise init --example study       # a project folder: the reference study
    harmonise run                        # in a project: ingest inbox/<center>/ for every mapped center
    harmonise ingest site_b              # one center only
    harmonise status --json              # last attempt per center (also --csv)
    harmonise report                     # the pooled analyses as HTML, SVG, CSV and JSON
    harmonise profile EXPORT             # onboarding a center: profile, draft, dry run
    harmonise new-center site_d --export EXPORT
    harmonise check site_d
    harmonise serve --cron "0 2 * * *"   # schedule the nightly flow (needs a Prefect server)

Each command group is a module: ``cli_ingest`` (run, ingest, retire), ``cli_report``,
``cli_project`` (init, serve), ``cli_inspect`` (status, quality, sql), ``onboarding``
(profile, new-center, check) and ``hospitals_cli``; what a command works on is found by
``cli_context``. Shared options, exit codes and the row printer live in ``flows/cli_options.py``.
"""
from __future__ import annotations

import typer

from harmonise.flows import (cli_ingest, cli_inspect, cli_project, cli_report, hospitals_cli,
                             onboarding)
from harmonise.flows.output import console

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, pretty_exceptions_enable=False,
                  help="Pool hospital exports into one DuckDB warehouse and analyse them.")


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


#: The commands, in the order `harmonise --help` lists them.
COMMANDS = (cli_ingest.run, cli_ingest.ingest, cli_report.report, cli_project.serve, cli_project.init,
            cli_inspect.status, cli_inspect.quality, cli_inspect.sql, cli_ingest.retire)
for command in COMMANDS:
    app.command()(command)
onboarding.register(app)  # harmonise profile, harmonise new-center, harmonise check
hospitals_cli.register(app)  # harmonise hospitals deploy, harmonise hospitals run


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
