"""What every ``harmonise`` command shares: exit codes, option types, option sets, row output.

Library first, thin CLI (sqlite-utils): one option set per concern, added to a command by a
decorator, so ``--json``, ``--csv``, ``--quiet`` and ``--verbose`` mean the same everywhere.

Exit codes (documented in README and docs/operations.md; tests/test_cli.py walks them):

- 0  done (every center loaded or was unchanged; the check is clean)
- 1  done, but problems were found (a center failed, a check is not clean, an SQL error)
- 2  usage error: unknown option, bad date, missing path, unknown choice (click's own code)
- 3  not started: another run is going (nothing was changed)
- 4  cannot start: no pseudonymisation key, no warehouse yet, no Prefect server
"""
from __future__ import annotations

import csv
import datetime as dt
import enum
import functools
import inspect
import io
import json
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import typer
from rich.markup import escape
from rich.table import Table

from harmonise.flows.output import console, set_verbosity


class ExitCode(enum.IntEnum):
    OK = 0
    PROBLEMS = 1
    USAGE = 2
    ALREADY_RUNNING = 3
    CANNOT_START = 4


def iso_date(value) -> dt.date | None:
    """A calendar date written YYYY-MM-DD; anything else is a one-line usage error."""
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise typer.BadParameter(f"'{value}' is not a date in the form YYYY-MM-DD (e.g. 2024-05-25).")


def one_of(*choices: str) -> Callable[[str], str]:
    """A parser accepting only ``choices`` (a one-line usage error names them)."""
    def parse(value: str) -> str:
        if value not in choices:
            raise typer.BadParameter(f"'{value}' is not one of: {', '.join(choices)}.")
        return value
    return parse


def _option(default, *names: str, annotation=bool, **kwargs) -> inspect.Parameter:
    return inspect.Parameter(names[0].lstrip("-").replace("-", "_"), inspect.Parameter.KEYWORD_ONLY,
                             default=typer.Option(default, *names, **kwargs), annotation=annotation)


def _with_options(fn: Callable, extra: list[inspect.Parameter], before: Callable[[dict], dict]):
    """``fn`` with ``extra`` typer options; ``before`` turns their values into ``fn``'s kwargs."""
    signature = inspect.signature(fn)
    names = {p.name for p in extra}

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        own = {name: kwargs.pop(name) for name in list(kwargs) if name in names}
        return fn(*args, **kwargs, **before(own))

    kept = [p for p in signature.parameters.values() if p.name not in before.consumes]
    wrapper.__signature__ = signature.replace(parameters=kept + extra)
    wrapper.__annotations__ = {k: v for k, v in fn.__annotations__.items() if k not in before.consumes}
    return wrapper


def _consumes(*names: str):
    def mark(fn):
        fn.consumes = names
        return fn
    return mark


@_consumes("output")
def _output_kwargs(own: dict) -> dict:
    if own.get("json") and own.get("csv"):
        raise typer.BadParameter("choose one of --json and --csv.", param_hint="--json / --csv")
    return {"output": "json" if own.get("json") else "csv" if own.get("csv") else "table"}


@_consumes()
def _verbosity_kwargs(own: dict) -> dict:
    if own.get("quiet") and own.get("verbose"):
        raise typer.BadParameter("choose one of --quiet and --verbose.", param_hint="--quiet / --verbose")
    set_verbosity(-1 if own.get("quiet") else 1 if own.get("verbose") else 0)
    return {}


def output_options(fn: Callable) -> Callable:
    """``--json`` / ``--csv`` instead of the table; the command receives ``output``."""
    return _with_options(fn, [
        _option(False, "--json", help="Print the rows as a JSON array of objects instead of a table."),
        _option(False, "--csv", help="Print the rows as CSV (header line first) instead of a table."),
    ], _output_kwargs)


def verbosity_options(fn: Callable) -> Callable:
    """``--quiet`` (errors and the outcome only) / ``--verbose`` (every step, debug lines)."""
    return _with_options(fn, [
        _option(False, "--quiet", "-q", help="Print only errors and the final outcome."),
        _option(False, "--verbose", "-v", help="Print every step, including debug lines."),
    ], _verbosity_kwargs)


#: Help of the options every load command takes.
FORCE_HELP = "Reload every center even when its export is unchanged since the last load."
FORCE_ONE_HELP = "Reload this center even when its export is unchanged since the last load."
WAIT_HELP = "If another run is going, wait for it to finish instead of stopping."
ACCEPT_DROP_HELP = ("Confirm a load that would remove most (or all) of a center's patients; "
                    "without it such a load fails and the previous rows stay.")


def load_options(force_help: str) -> Callable[[Callable], Callable]:
    """``--cutoff --demo --project --inbox --warehouse --force --wait --accept-drop``, the options
    of every load command (``run``, ``ingest``); the command receives them as ``options``."""
    def extra() -> list[inspect.Parameter]:
        return [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=kind)
                for name, default, kind in (
                    ("cutoff", CUTOFF, Optional[dt.date]), ("demo", DEMO, bool),
                    ("project", PROJECT, Optional[Path]), ("inbox", INBOX, Optional[Path]),
                    ("warehouse", WAREHOUSE, Optional[Path]),
                    ("force", typer.Option(False, "--force", help=force_help), bool),
                    ("wait", typer.Option(False, "--wait", help=WAIT_HELP), bool),
                    ("accept_drop", typer.Option(False, "--accept-drop", help=ACCEPT_DROP_HELP), bool))]

    @_consumes("options")
    def as_options(own: dict) -> dict:
        return {"options": own}
    return lambda fn: _with_options(fn, extra(), as_options)


def print_rows(names: Sequence[str], rows: Sequence[Sequence[Any]], output: str = "table",
               title: str | None = None) -> None:
    """Rows as a rich table, a JSON array of objects, or CSV: the one row printer of the CLI."""
    if output == "json":
        records = [dict(zip(names, (_plain(v) for v in row))) for row in rows]
        console.out(json.dumps(records, ensure_ascii=False, indent=2), highlight=False)
    elif output == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(names)
        writer.writerows([["" if v is None else _plain(v) for v in row] for row in rows])
        console.out(buffer.getvalue(), end="", highlight=False)
    else:
        table = Table(title=title)
        for name in names:
            table.add_column(name)
        for row in rows:
            table.add_row(*["" if v is None else escape(str(v)) for v in row])
        console.print(table)


def _plain(value):
    if isinstance(value, (dt.date, dt.datetime, Path)):
        return str(value)
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    return str(value)


# Options several commands share, spelled once.
WAREHOUSE = typer.Option(None, "--warehouse", dir_okay=False,
                         help="Warehouse file (default <home>/warehouse.duckdb).")
CUTOFF = typer.Option(None, "--cutoff", parser=iso_date, metavar="YYYY-MM-DD",
                      help="Data cut-off, YYYY-MM-DD (default: cutoff in harmonise.yaml). Dates after it are rejected.")
INBOX = typer.Option(None, "--inbox", exists=True, file_okay=False,
                     help="Folder holding <center>/ export folders.")
PROJECT = typer.Option(None, "--project", file_okay=False, metavar="DIR",
                       help="The study's project folder (default: $HARMONISE_PROJECT, else the current "
                            "folder or the nearest one above it holding harmonise.yaml).")
DEMO = typer.Option(False, "--demo", help="Run the bundled example project (synthetic exports, "
                                          "public demo key).")
