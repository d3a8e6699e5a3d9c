"""How the onboarding commands print: a check report and a freshly drafted mapping.

Used by ``flows/onboarding.py`` (``harmonise check`` and ``harmonise new-center``); pandas
and the onboarding stage are imported by the functions that need them (see that module).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from harmonise.flows.settings import Settings
    from harmonise.onboarding.check import CheckReport

console = Console(highlight=False)


def _relative(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _cell(value) -> str:
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, pd.Timestamp):
        return str(value.date())
    return str(value)


def render_check(report: CheckReport, out: Console | None = None) -> None:
    """Print a check report: problems first, then the preview, then the verdict."""
    from harmonise.onboarding.check import EXAMPLES

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
    from harmonise.schemas.quarantine import FixIn

    places = dict.fromkeys(p for g in report.problems for p in g.fix_in) or \
        dict.fromkeys((FixIn.MAPPING, FixIn.EXPORT))
    words = [f"{p.words} ({escape(_relative(report.mapping_file))})" if p is FixIn.MAPPING
             else escape(p.words) for p in places]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def render_draft(draft, settings: Settings, exports: list[Path], out: Console | None = None) -> None:
    """What ``new-center`` wrote, the TODOs left, and the next steps."""
    from harmonise.mappings.engine import center_inbox

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
