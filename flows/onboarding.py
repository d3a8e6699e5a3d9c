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

The plain functions (``check_center``; ``mappings.profile.profile``;
``mappings.draft.write_draft``) are what the commands call and what the tests use. The
``*_command`` functions are typer commands for ``flows/cli.py``; until they are registered
there, ``python -m flows.onboarding profile|new-center|check ...`` runs them.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harmonise.flows.settings import Settings
from harmonise.mappings.draft import OnboardingError, suggest_code, write_draft
from harmonise.mappings.engine import center_inbox
from harmonise.mappings.errors import CenterError
from harmonise.mappings.profile import profile, render_profile
from harmonise.mappings.pseudonym import DEMO_KEY, PseudonymKeyError, load_key
from harmonise.mappings.spec import load_mapping, mapping_path

console = Console(highlight=False)

#: How many example rows a group of quarantined rows shows.
EXAMPLES = 3
#: Patients shown in the preview of the canonical rows.
PREVIEW_PATIENTS = 5
#: Characters of a pseudonym shown in the preview.
KEY_SHOWN = 8
#: The canonical columns of the preview (one course per patient: the first).
PREVIEW_COLUMNS = ["patient_key", "sex", "age_years", "histology", "primary_site", "lung_metastasis",
                   "other_metastasis", "ecog", "prior_lines", "line_of_therapy", "start_date",
                   "pd1_agent", "antiangiogenic_agents", "cytotoxic_agents", "local_treatment",
                   "end_date", "discontinuation_reason", "best_response", "progression_date",
                   "death_date", "last_followup_date"]


# -- check: the plain function ---------------------------------------------------------------
@dataclass
class Example:
    """One quarantined cell, located as a data manager finds it in the export."""

    file: str
    row: int | None
    column: str | None
    value: str | None          # never an identifier's value


@dataclass
class ProblemGroup:
    """Rows that would be quarantined for the same reason (check) in the same column."""

    check: str
    column: str | None
    rows: int
    reason: str
    examples: list[Example] = field(default_factory=list)


@dataclass
class UnknownValue:
    """A value no vocabulary knows, and how many rows have it."""

    file: str
    column: str
    vocabulary: str
    value: str
    rows: int
    suggestion: str | None = None


@dataclass
class CheckReport:
    """What ``harmonise check`` found for one center (a dry run: nothing was written)."""

    center: str
    mapping_file: Path
    inbox: Path
    structural: list[str] = field(default_factory=list)
    unknown_values: list[UnknownValue] = field(default_factory=list)
    problems: list[ProblemGroup] = field(default_factory=list)
    preview: pd.DataFrame = field(default_factory=pd.DataFrame)
    rows_read: int = 0
    rows_quarantined: int = 0
    patients: int = 0
    adverse_events: int = 0
    key_note: str | None = None

    @property
    def ok(self) -> bool:
        """The center would load cleanly: no structural problem and nothing quarantined."""
        return not self.structural and self.rows_quarantined == 0

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1


def check_key(settings: Settings) -> tuple[bytes, str | None]:
    """The key for a dry run, and a note when it is not the real one.

    A check stores nothing, so without a configured key it uses a throwaway one (the
    preview's patient keys then differ from the ones ``ingest`` will store).
    """
    if settings.demo_key:
        return DEMO_KEY.encode(), "demo key (synthetic data only)"
    try:
        return load_key(demo=False), None
    except PseudonymKeyError as err:
        return secrets.token_hex(32).encode(), (
            f"{err} For this dry run the preview's patient keys were made with a throwaway key; "
            "`harmonise ingest` needs the real one.")


def check_center(center_id: str, settings: Settings, *, key: bytes | None = None) -> CheckReport:
    """Map and validate one center's export without touching the warehouse."""
    from harmonise.flows.steps import build_batch

    note = None
    if key is None:
        key, note = check_key(settings)
    report = CheckReport(center=center_id, mapping_file=mapping_path(center_id, settings.mappings_dir),
                         inbox=center_inbox(settings.inbox, center_id), key_note=note)
    try:
        mapping = load_mapping(center_id, settings.mappings_dir)
        batch = build_batch(center_id, settings, key)
    except CenterError as err:
        report.structural.append(err.message)
        return report
    except OSError as err:
        report.structural.append(f"[center {center_id}] a file could not be read: {err}. "
                                 "Check that the export is complete and readable, then run again.")
        return report
    hidden = {c.source for f in mapping.files for c in f.columns.values()
              if c.action in ("pseudonymise", "identifier")}
    sheets = _sheet_labels(mapping)
    quarantine = batch.quarantine.copy()
    if len(quarantine):
        quarantine["file"] = [sheets.get((f, t), f) for f, t in zip(quarantine["source_file"],
                                                                     quarantine["table_name"])]
        quarantine["shown"] = [None if (c in hidden or v is None or (isinstance(v, float) and pd.isna(v)))
                               else str(v) for c, v in zip(quarantine["source_column"],
                                                           quarantine["failed_value"])]
    report.rows_read = int(sum(batch.rows_read.values()))
    report.rows_quarantined = _distinct_rows(quarantine)
    report.unknown_values = _unknown_values(quarantine)
    report.problems = _problem_groups(quarantine)
    report.preview = _preview(batch.clean)
    report.patients = len(batch.clean.get("patient", []))
    report.adverse_events = len(batch.clean.get("adverse_event", []))
    return report


def _sheet_labels(mapping) -> dict[tuple[str, str], str]:
    """``{(file name, canonical table): 'file (sheet X)'}`` for workbooks read more than once."""
    names = [f.name for f in mapping.files]
    labels = {}
    for spec in mapping.files:
        if names.count(spec.name) < 2:
            continue
        tables = ["adverse_event"] if spec.role == "adverse_events" else ["patient", "treatment", "outcome"]
        if spec.wide_adverse_events:
            tables.append("adverse_event")
        for table in tables:
            labels.setdefault((spec.name, table), f"{spec.name} [{spec.sheet}]")
    return labels


def _distinct_rows(quarantine: pd.DataFrame) -> int:
    if quarantine.empty:
        return 0
    rows = quarantine.dropna(subset=["source_row"])
    return int(rows.drop_duplicates(["file", "source_row"]).shape[0])


def _unknown_values(quarantine: pd.DataFrame) -> list[UnknownValue]:
    if quarantine.empty:
        return []
    unknown = quarantine[quarantine["check_name"].astype(str).str.startswith("vocabulary:")
                         & quarantine["shown"].notna()]
    out = []
    grouped = unknown.groupby(["file", "source_column", "check_name", "shown"], dropna=False)
    for (file, column, check, value), rows in grouped:
        vocabulary = str(check).split(":", 1)[1]
        hint = suggest_code(value, vocabulary) if vocabulary != "values" else None
        out.append(UnknownValue(file=str(file), column=str(column), vocabulary=vocabulary,
                                value=str(value), rows=int(rows["source_row"].nunique()),
                                suggestion=f"{hint[0]}? (like '{hint[1]}')" if hint else None))
    return sorted(out, key=lambda u: (u.file, u.column, -u.rows, u.value))


def _problem_groups(quarantine: pd.DataFrame) -> list[ProblemGroup]:
    if quarantine.empty:
        return []
    q = quarantine.assign(where=quarantine["source_column"].fillna(quarantine["column_name"]))
    groups = []
    for (check, column), rows in q.groupby(["check_name", "where"], dropna=False, sort=False):
        rows = rows.sort_values(["file", "source_row"], na_position="last")
        distinct = rows.drop_duplicates(["file", "source_row"])
        examples = [Example(file=str(r.file), row=None if pd.isna(r.source_row) else int(r.source_row),
                            column=None if pd.isna(r.where) else str(r.where), value=r.shown)
                    for r in distinct.head(EXAMPLES).itertuples()]
        groups.append(ProblemGroup(check=str(check), column=None if pd.isna(column) else str(column),
                                   rows=len(distinct), reason=_group_reason(rows),
                                   examples=examples))
    return sorted(groups, key=lambda g: (g.check == "held_with_patient", -g.rows, g.check))


def _group_reason(rows: pd.DataFrame) -> str:
    """The reason of a group in general words (a record's reason names its own value and row)."""
    first = rows.iloc[0]
    if str(first["check_name"]).startswith("vocabulary:"):
        return "Not a known spelling (the values are listed above)."
    if first["check_name"] == "held_with_patient":
        return ("Held because another row of the same patient was quarantined (see the other "
                "reasons). These rows load once that row is fixed.")
    reason = str(first["reason"])
    if len(rows["failed_value"].dropna().unique()) > 1 or pd.isna(first["failed_value"]):
        reason = re.sub(r"^Column '[^']*' (\([a-z_]+\) )?value '[^']*' ", "Value ", reason)
    else:
        reason = re.sub(r"^Column '[^']*' (\([a-z_]+\) )?", "", reason)
    return reason[:1].upper() + reason[1:]


def _preview(clean: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The first patients as they would be stored: patient, first course and outcome side by side."""
    patient = clean.get("patient")
    if patient is None or patient.empty:
        return pd.DataFrame(columns=PREVIEW_COLUMNS)
    first = patient.sort_values("_source_row").head(PREVIEW_PATIENTS)
    treatment = clean["treatment"].sort_values("course_no").drop_duplicates("patient_key")
    merged = (first.merge(treatment, on="patient_key", how="left", suffixes=("", "_t"))
              .merge(clean["outcome"], on="patient_key", how="left", suffixes=("", "_o")))
    out = merged[[c for c in PREVIEW_COLUMNS if c in merged.columns]].copy()
    out["patient_key"] = out["patient_key"].str[:KEY_SHOWN] + "…"
    return out.reset_index(drop=True)


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
    out.print(f"Read {report.rows_read} rows. Would load {report.patients} patients and "
              f"{report.adverse_events} adverse events; {report.rows_quarantined} rows would be quarantined.")
    if report.unknown_values:
        for file in dict.fromkeys(u.file for u in report.unknown_values):
            table = Table(title=f"Values no vocabulary knows, in {escape(file)}: give their codes under "
                                f"`values:` of the column, or add them to mappings/vocab/<vocabulary>.yaml",
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
                  f"be quarantined. Fix the mapping ({escape(_relative(report.mapping_file))}) or the "
                  f"export, then run `harmonise check {report.center}` again.")


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


def profile_command(
    export: Path = typer.Argument(..., help="An export file: CSV (any delimiter and encoding) or Excel .xlsx."),
    sheet: Optional[str] = typer.Option(None, help="Excel only: profile this sheet (default: every sheet)."),
) -> None:
    """Describe an export before mapping it: encoding, delimiter, sheets, and per column its type,
    empty cells, distinct and most frequent values, date formats, and which columns identify
    patients (their values are never shown).

    Example: harmonise profile var/inbox/site_d/site_d_export.xlsx
    """
    try:
        result = profile(export, sheet=sheet)
    except OnboardingError as err:
        _fail("Cannot profile", err)
    render_profile(result, console)


def new_center_command(
    center_id: str = typer.Argument(..., help="The new center's id (lower case, e.g. site_d): names mappings/<center>.yaml."),
    export: list[Path] = typer.Argument(..., help="The center's export file(s): CSV or Excel."),
    force: bool = typer.Option(False, "--force", help="Replace an existing mapping file (your edits in it are lost)."),
) -> None:
    """Draft mappings/<center>.yaml from the center's export files: everything that can be
    guessed (how to read each file, which column fills which canonical column, vocabularies,
    identifiers to drop or pseudonymise) and a `# TODO` for everything else.

    Example: harmonise new-center site_d var/inbox/site_d/site_d_export.xlsx
    """
    settings = Settings()
    try:
        draft = write_draft(center_id, export, mappings_dir=settings.mappings_dir, force=force)
    except OnboardingError as err:
        _fail("Cannot draft the mapping", err)
    render_draft(draft, settings, export)


def check_command(
    center: str = typer.Argument(..., help="Center id, as in mappings/<center>.yaml."),
    inbox: Optional[str] = typer.Option(None, help="Folder holding <center>/ export folders (default var/inbox)."),
    demo_key: bool = typer.Option(False, "--demo-key", help="Use the public demo pseudonymisation key (synthetic data only)."),
) -> None:
    """Dry-run one center: map and validate its export without writing the warehouse, and list
    what is left to fix (structural problems, unknown values with counts, rows that would be
    quarantined with examples) and a preview of the canonical rows. Exit status 0 only when
    the center would load cleanly.

    Example: harmonise check site_d
    """
    settings = Settings(demo_key=demo_key, **({"inbox": Path(inbox)} if inbox else {}))
    report = check_center(center, settings)
    render_check(report, console)
    raise typer.Exit(report.exit_code)


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
