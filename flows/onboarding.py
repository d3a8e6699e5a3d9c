"""Onboarding a new center in three commands: ``profile``, ``new-center``, ``check``.

For the data manager who adds a hospital (docs/adding-a-center.md):

1. ``harmonise profile EXPORT`` describes an export: encoding, delimiter, sheets, and per
   column its type, empty share, distinct values, most frequent values, date formats,
   and which columns identify patients (their values are never shown).
2. ``harmonise new-center CENTER EXPORT...`` writes a draft ``mappings/<center>.yaml``
   with everything that can be guessed and a ``# TODO`` for everything else.
3. ``harmonise check CENTER`` maps and validates the center's export WITHOUT writing the
   warehouse, and lists what is left: structural problems, values no vocabulary knows
   (with counts), rows that would be quarantined (grouped by reason, with examples), and
   a preview of the canonical rows. Exit status 0 only when the center would load cleanly.

The plain functions live in the onboarding stage (``onboarding.profile.profile``,
``onboarding.draft.write_draft``, ``onboarding.check.summarise``); this module wires them
to the pipeline and the console (what they print: ``flows/onboarding_view.py``). The
``*_command`` functions are typer commands registered in ``flows/cli.py``;
``python -m harmonise.flows.onboarding profile|new-center|check ...`` runs them too.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from rich.markup import escape

from harmonise.flows.cli_context import settings_for
from harmonise.flows.cli_options import PROJECT, output_options, print_rows
from harmonise.flows.onboarding_view import console, render_check, render_draft  # noqa: F401
from harmonise.flows.settings import Settings

if TYPE_CHECKING:
    from harmonise.onboarding.check import CheckReport

# The mapping engine and the onboarding stage (pandas, pandera) are imported by the
# functions that use them: every `harmonise` command registers these three, and
# `harmonise report` or `status` should not wait a second for them (docs/performance.md).


def check_center(center_id: str, settings: Settings, *, key: bytes | None = None) -> CheckReport:
    """Map and validate one center's export without touching the warehouse."""
    from harmonise.mappings.engine import center_inbox
    from harmonise.mappings.errors import CenterError
    from harmonise.mappings.spec import load_mapping, mapping_path
    from harmonise.onboarding.check import CheckReport, check_key, summarise
    from harmonise.pipeline.center import build_batch

    note = None
    if key is None:
        key, note = check_key(settings.demo_key, settings.key_env, settings.key_file)
    report = CheckReport(center=center_id, mapping_file=mapping_path(center_id, settings.mappings_dir),
                         inbox=center_inbox(settings.inbox, center_id), key_note=note)
    try:
        mapping = load_mapping(center_id, settings.mappings_dir, settings.vocab_dir, settings.codes_file)
        batch = build_batch(center_id, settings, key, mapping)
    except CenterError as err:
        report.structural.append(err.message)
        return report
    except OSError as err:
        report.structural.append(f"[center {center_id}] a file could not be read: {err}. "
                                 "Check that the export is complete and readable, then run again.")
        return report
    shown = batch.private_quarantine if batch.private_quarantine is not None else batch.quarantine
    return summarise(report, mapping, batch.clean, shown, sum(batch.rows_read.values()))


# -- typer commands (registered in flows/cli.py) -------------------------------------------
def _fail(what: str, err: Exception) -> None:
    message = getattr(err, "message", str(err))
    console.print(f"[bold red]{what}:[/] {escape(message)}")
    raise typer.Exit(2)


PROFILE_COLUMNS = ("sheet", "column", "type", "rows", "empty", "distinct", "date formats",
                   "identifier", "most frequent")


def profile_rows(result) -> list[tuple]:
    """One row per column of each profiled table; values only where the table shows them."""
    return [(t.sheet, c.name, c.type, c.rows, c.nulls, c.distinct, ", ".join(c.date_formats) or None,
             c.identifier, None if c.hidden else "; ".join(f"{v} ({n})" for v, n in c.top) or None)
            for t in result.tables for c in t.columns]


@output_options
def profile_command(
    export: Path = typer.Argument(..., help="An export file: CSV (any delimiter and encoding) or Excel .xlsx."),
    sheet: Optional[str] = typer.Option(None, help="Excel only: profile this sheet (default: every sheet)."),
    output: str = "table",
) -> None:
    """Describe an export before mapping it: encoding, delimiter, sheets, and per column its type,
    empty cells, distinct and most frequent values, date formats, and which columns identify
    patients (their values are never shown).

    Example: harmonise profile inbox/site_d/site_d_export.xlsx
    """
    from harmonise.onboarding.errors import OnboardingError
    from harmonise.onboarding.profile import profile
    from harmonise.onboarding.profile_view import render_profile

    try:
        result = profile(export, sheet=sheet)
    except OnboardingError as err:
        _fail("Cannot profile", err)
    if output == "table":
        render_profile(result, console)
    else:  # --json / --csv: one row per column
        print_rows(PROFILE_COLUMNS, profile_rows(result), output)


def new_center_command(
    center_id: str = typer.Argument(..., help="The new center's id (lower case, e.g. site_d): names mappings/<center>.yaml."),
    export: list[Path] = typer.Argument(..., help="The center's export file(s): CSV or Excel."),
    force: bool = typer.Option(False, "--force", help="Replace an existing mapping file (your edits in it are lost)."),
    project: Optional[Path] = PROJECT,
) -> None:
    """Draft mappings/<center>.yaml from the center's export files: everything that can be
    guessed (how to read each file, which column fills which canonical column, vocabularies,
    identifiers to drop or pseudonymise) and a `# TODO` for everything else.

    Example: harmonise new-center site_d inbox/site_d/site_d_export.xlsx
    """
    from harmonise.onboarding.draft import write_draft
    from harmonise.onboarding.errors import OnboardingError

    settings = project_settings(project, required=True)
    try:
        draft = write_draft(center_id, export, mappings_dir=settings.mappings_dir, force=force)
    except OnboardingError as err:
        _fail("Cannot draft the mapping", err)
    render_draft(draft, settings, export)


CHECK_COLUMNS = ("kind", "file", "column", "rule", "rows", "detail")


def check_rows(report) -> list[tuple]:
    """What is left to fix, one row each: structural problems, unknown values, quarantine groups."""
    rows = [("structural", None, None, None, None, text) for text in report.structural]
    rows += [("unknown value", u.file, u.column, f"vocabulary {u.vocabulary}", u.rows,
              f"'{u.value}'" + (f" (did you mean {u.suggestion}?)" if u.suggestion else ""))
             for u in report.unknown_values]
    rows += [("would be quarantined", None, g.column, g.check, g.rows, g.reason) for g in report.problems]
    return rows


@output_options
def check_command(
    center: str = typer.Argument(..., help="Center id, as in mappings/<center>.yaml."),
    inbox: Optional[str] = typer.Option(None, help="Folder holding <center>/ export folders (default: the project's paths.inbox)."),
    demo_key: bool = typer.Option(False, "--demo", "--demo-key", help="Use the public demo pseudonymisation key (synthetic data only)."),
    project: Optional[Path] = PROJECT,
    output: str = "table",
) -> None:
    """Dry-run one center: map and validate its export without writing the warehouse, and list
    what is left to fix (structural problems, unknown values with counts, rows that would be
    quarantined with examples) and a preview of the canonical rows. Exit status 0 only when
    the center would load cleanly.

    Example: harmonise check site_d
    """
    settings = project_settings(project, required=False, **({"demo_key": True} if demo_key else {}),
                                **({"inbox": Path(inbox)} if inbox else {}))
    report = check_center(center, settings)
    if output == "table":
        render_check(report, console)
    else:  # --json / --csv: the findings only (exit status as for the table)
        print_rows(CHECK_COLUMNS, check_rows(report), output)
    raise typer.Exit(report.exit_code)


def project_settings(project: Path | None, required: bool, **overrides) -> Settings:
    """The project's settings (see flows/project.py); exit 4 with what to do if there is none."""
    return settings_for(project=project, required=required, **overrides)


COMMANDS = {"profile": profile_command, "new-center": new_center_command, "check": check_command}


def register(app: typer.Typer) -> None:
    """Add ``profile``, ``new-center`` and ``check`` to a typer app (e.g. ``flows.cli.app``)."""
    for name, command in COMMANDS.items():
        app.command(name)(command)


app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Onboard a new center: profile an export, draft its mapping, check it.")
register(app)

if __name__ == "__main__":  # pragma: no cover - `python -m flows.onboarding ...`
    app()
