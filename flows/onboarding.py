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
to the pipeline and the console. The ``*_command`` functions are typer commands registered
in ``flows/cli.py``; ``python -m harmonise.flows.onboarding profile|new-center|check ...``
runs them too.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harmonise.flows.cli_context import settings_for
from harmonise.flows.cli_options import PROJECT, output_options, print_rows
from harmonise.flows.settings import Settings
from harmonise.mappings.engine import center_inbox
from harmonise.mappings.errors import CenterError
from harmonise.mappings.spec import load_mapping, mapping_path
from harmonise.onboarding.check import EXAMPLES, CheckReport, check_key, summarise
from harmonise.onboarding.draft import write_draft
from harmonise.onboarding.errors import OnboardingError
from harmonise.onboarding.profile import profile
from harmonise.onboarding.profile_view import render_profile
from harmonise.schemas.quarantine import FixIn

console = Console(highlight=False)


def check_center(center_id: str, settings: Settings, *, key: bytes | None = None) -> CheckReport:
    """Map and validate one center's export without touching the warehouse."""
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


# -- rendering --------------------------------------------------------------------------------
def _relative(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _cell(value) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, pd.Timestamp):
        return str(value.date())
    return str(value)


def render_check(report: CheckReport, out: Console | None = None) -> None:
    """Print a check report: problems first, then the preview, then the verdict."""
    out = out or console
    out.print(f"[bold]Checking {report.center}[/] (dry run: nothing is written)  mapping "
              f"{escape(_relative(report.mapping_file))}, exports {escape(_relative(report.inbox))}/")
    if report.key_note:
        out.print(f"[yellow]Note:[/] {escape(report.key_note)}")
    if report.structural:
        for message in report.structural:
            out.print(f"[bold red]✗ Structural problem[/] (the center cannot load until it is fixed):\n"
                      f"{escape(message)}")
        out.print(f"[bold red]✗ {report.center} would fail.[/] Fix the problem above, then run "
                  f"`harmonise check {report.center}` again.")
        return
    assessments = f", {report.assessments} assessments" if report.assessments else ""
    out.print(f"Read {report.rows_read} rows. Would load {report.patients} patients{assessments} and "
              f"{report.adverse_events} adverse events; {report.rows_quarantined} rows would be quarantined.")
    if report.unknown_values:
        for file in dict.fromkeys(u.file for u in report.unknown_values):
            table = Table(title=f"Values no vocabulary knows, in {escape(file)}: give their codes under "
                                f"`values:` of the column, or add them to the project's vocab/<vocabulary>.yaml; "
                                f"a code the list lacks (a new agent, histology, term) goes in the project's codes.yaml",
                          title_justify="left")
            for name in ("column", "vocabulary", "value", "rows", "looks like"):
                table.add_column(name, justify="right" if name == "rows" else "left", overflow="fold")
            for u in (u for u in report.unknown_values if u.file == file):
                table.add_row(escape(u.column), u.vocabulary, escape(u.value), str(u.rows),
                              escape(u.suggestion or ""))
            out.print(table)
    if report.problems:
        table = Table(title="Rows that would be quarantined, by reason", title_justify="left",
                      show_lines=True, expand=True)
        for name, ratio in (("check / column", 2), ("rows", None), ("reason", 3),
                            (f"examples (up to {EXAMPLES})", 3)):
            table.add_column(name, justify="right" if name == "rows" else "left", overflow="fold",
                             ratio=ratio)
        for g in report.problems:
            examples = "\n".join(
                f"{e.file} row {e.row if e.row is not None else '?'}"
                + (f": {e.value!r}" if e.value is not None else "") for e in g.examples)
            table.add_row(escape(g.check + (f"\n{g.column}" if g.column else "")), str(g.rows),
                          escape(g.reason), escape(examples))
        out.print(table)
    if len(report.preview):
        table = Table(title=f"Preview: the first {len(report.preview)} patients as they would be stored "
                            "(one column per patient)", title_justify="left")
        table.add_column("canonical column", no_wrap=True)
        for i in range(len(report.preview)):
            table.add_column(f"patient {i + 1}", overflow="fold")
        for name in report.preview.columns:
            table.add_row(name, *[escape(_cell(v)) for v in report.preview[name]])
        out.print(table)
    if report.ok:
        out.print(f"[bold green]✓ {report.center} would load cleanly[/] ({report.patients} patients, "
                  f"{report.adverse_events} adverse events). Next: `harmonise ingest {report.center}`.")
    else:
        out.print(f"[bold red]✗ {report.center} is not clean yet:[/] {report.rows_quarantined} rows would "
                  f"be quarantined. The fixes belong in {_places(report)}; then run "
                  f"`harmonise check {report.center}` again.")


def _places(report) -> str:
    """Where the fixes of the quarantined rows belong, from their rules (the mapping by path)."""
    places = dict.fromkeys(p for g in report.problems for p in g.fix_in) or \
        dict.fromkeys((FixIn.MAPPING, FixIn.EXPORT))
    words = [f"{p.words} ({escape(_relative(report.mapping_file))})" if p is FixIn.MAPPING
             else escape(p.words) for p in places]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def render_draft(draft, settings: Settings, exports: list[Path], out: Console | None = None) -> None:
    """What ``new-center`` wrote, the TODOs left, and the next steps."""
    out = out or console
    files = ", ".join(f"{f.label} as {f.role}" for f in draft.files)
    columns = [c for f in draft.files for c in f.columns]
    mapped = sum(1 for c in columns if c.target)
    identifiers = sum(1 for c in columns if isinstance(c.spec, dict) and "identifier" in c.spec)
    out.print(f"[bold green]Wrote {escape(_relative(draft.path))}[/]: {escape(files)}.")
    out.print(f"  {mapped} columns mapped, {identifiers} identifiers (1 pseudonymised per file, "
              f"the rest dropped), {sum(len(f.wide) for f in draft.files)} wide adverse-event "
              f"columns, {sum(1 for c in columns if c.spec == 'drop')} dropped.")
    todos = [(f, c.source, t) for f in draft.files for c in f.columns for t in c.todos]
    todos += [(f, None, t) for f in draft.files for t in f.todos]
    if todos:
        out.print(f"[bold yellow]{len(todos)} TODO(s)[/] to resolve in the file (search for TODO):")
        for file, column, text in todos:
            where = f"{column}: " if column else ""
            first = text.split(". ")[0]
            out.print(f"  - {escape(file.label)}, {escape(where)}{escape(first)}")
    else:
        out.print("No TODO: still, read every line before you rely on it.")
    inbox = center_inbox(settings.inbox, draft.center)
    out.print("[bold]Next:[/]")
    step = 1
    outside = [p for p in exports if Path(p).resolve().parent != inbox.resolve()]
    if outside:
        out.print(f"  {step}. put the export file(s) in {escape(_relative(inbox))}/ (where the mapping reads them)")
        step += 1
    out.print(f"  {step}. edit {escape(_relative(draft.path))}: resolve each TODO, check each guess")
    out.print(f"  {step + 1}. harmonise check {draft.center}   (repeat until it says the center would load cleanly)")
    out.print(f"  {step + 2}. harmonise ingest {draft.center}")


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
