"""Write a draft mapping as YAML text (the writing step), with its comments and TODOs.

Hand-written rather than ``yaml.dump`` because a draft is for a person: one line per
column in flow style, an end-of-line note saying what was guessed from what, and TODO
comments above the line they are about. ``onboarding.draft`` checks the text loads.
"""
from __future__ import annotations

import json
import re
import textwrap
import unicodedata

import yaml

from harmonise.onboarding.inference import SPLIT_REGIMEN, FileDraft
from harmonise.onboarding.reading import DELIMITER_NAMES
from harmonise.onboarding.suggest import _flow_scalar, _one_line


# -- writing YAML ----------------------------------------------------------------------------
_PLAIN = re.compile(r"[A-Za-z_\u0080-\U0010ffff][\w\u0080-\U0010ffff .\-()]*")


def _scalar(text: str) -> str:
    """A YAML scalar: plain when that reads back as the same text, else double-quoted."""
    text = str(text)
    if _PLAIN.fullmatch(text) and not text.endswith(" ") and not re.search(r"[\u2028\u2029\x85]", text):
        try:
            if yaml.safe_load(f"k: {text}") == {"k": text}:
                return text
        except yaml.YAMLError:
            pass
    return json.dumps(text, ensure_ascii=False)


def _regex(pattern: str) -> str:
    return "'" + pattern.replace("'", "''") + "'"


def _flow(spec: dict | str) -> str:
    if isinstance(spec, str):
        return spec
    parts = []
    for key, value in spec.items():
        if key == "extract":
            shown = _regex(value)
        elif key == SPLIT_REGIMEN:
            shown = "{separator: " + json.dumps(value["separator"], ensure_ascii=False) + "}"
        elif key in ("date_format", "separator", "decimal"):
            shown = json.dumps(value, ensure_ascii=False)
        else:
            shown = _flow_scalar(value)
        parts.append(f"{key}: {shown}")
    return "{" + ", ".join(parts) + "}"


def _display_width(text: str) -> int:
    """Columns a line takes in a terminal or editor (Chinese characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _comment_lines(text: str, indent: str, width: int = 96) -> list[str]:
    """A TODO as ``# TODO: ...`` comment lines of at most ``width`` characters."""
    lines = textwrap.wrap(_one_line(text), width=width - len(indent) - 8, break_long_words=False,
                          break_on_hyphens=False)
    return [f"{indent}# TODO: {lines[0]}", *(f"{indent}#       {line}" for line in lines[1:])]


def describe(files: list[FileDraft]) -> str:
    """One line on the export's shape, for ``description:`` (edit it freely)."""
    parts = []
    for prof in {id(f.profile): f.profile for f in files}.values():
        if prof.format == "excel":
            parts.append(f"Excel workbook {prof.path.name} (sheets {', '.join(t.sheet for t in prof.tables)})")
        else:
            parts.append(f"{prof.encoding} CSV {prof.path.name} "
                         f"({profile_delimiter_name(prof.delimiter)}-separated)")
    return "; ".join(parts)


def profile_delimiter_name(delimiter: str | None) -> str:
    return DELIMITER_NAMES.get(delimiter or ",", repr(delimiter))


def render(draft_files: list[FileDraft], center: str, skipped: list[str]) -> str:
    sources = sorted({f.profile.path.name for f in draft_files})
    todo_total = sum(f.todo_count for f in draft_files)
    intro = (f"DRAFT mapping of center {center}, written by `harmonise new-center` from "
             f"{', '.join(sources)}. Every line is a guess from the export's headers and values: "
             f"check each one, resolve each TODO ({todo_total} in this draft), then run "
             f"`harmonise check {center}` until it reports no problem. The language is described "
             "in docs/mapping-language.md; the walkthrough is docs/adding-a-center.md.")
    out = [f"# {line}" for line in textwrap.wrap(intro, width=92, break_on_hyphens=False)]
    for note in skipped:
        out.append(f"# TODO: {note}")
    out += [f"center: {center}", "mapping_version: 1",
            f"description: {_scalar(describe(draft_files))}", "files:"]
    for i, file in enumerate(draft_files):
        if i:
            out.append("")
        prof = file.profile
        out.append(f"  - role: {file.role}   # guessed: {file.notes[0]}")
        for todo in file.todos:
            out += _comment_lines(todo, "    ")
        out.append(f"    name: {_scalar(file.name)}")
        if prof.format == "excel":
            out.append("    format: excel")
            out.append(f"    sheet: {_scalar(file.table.sheet)}")
        else:
            out.append("    format: csv")
            out.append(f"    encoding: {prof.encoding}   # {_one_line(prof.encoding_note or '')}")
            out.append(f"    delimiter: {json.dumps(prof.delimiter)}")
        table = file.table
        if table.header_row > 1:
            out.append(f"    header_row: {table.header_row}   # the {table.header_row - 1} row(s) above "
                       "the header are a title block")
        if table.footer_rows:
            out.append(f"    skip_footer: {table.footer_rows}   # the last row(s) are a summary or a "
                       "note, not data: check")
        date_line = f"    date_format: {json.dumps(file.date_format, ensure_ascii=False)}"
        out.append(date_line + (f"   # {file.date_note}" if file.date_note else ""))
        if file.decimal != ".":
            out.append(f"    decimal: {json.dumps(file.decimal)}   # numbers are written 41,5")
        out.append("    columns:")
        keys = [f"      {_scalar(c.source)}: {_flow(c.spec)}" for c in file.columns]
        width = min(max(_display_width(k) for k in keys) + 2, 78) if keys else 0
        for column, line in zip(file.columns, keys):
            for todo in column.todos:
                out += _comment_lines(todo, "      ")
            note = column.note
            pad = max(width - _display_width(line), 2)
            out.append(line + " " * pad + f"# {_one_line(note)}" if note else line)
        if file.wide:
            out.append("    adverse_events_wide:")
            out.append("      note: each cell holds the CTCAE grade of that event; empty = none   "
                       "# TODO: confirm with the hospital (worst grade?)")
            if file.wide_extract:
                out.append(f"      extract: {_regex(file.wide_extract)}")
            out.append("      columns:")
            for source, term in file.wide.items():
                out.append(f"        {_scalar(source)}: {term}")
        if file.summaries:
            out.append("    summaries:   # each patient's rows become one outcome value")
            for todo in file.summary_todos:
                out += _comment_lines(todo, "      ")
            for target, entry in file.summaries.items():
                out.append(f"      {target}: {_flow(entry)}")
        if file.constants:
            out.append("    constants:")
            for target, value in file.constants.items():
                out.append(f"      {target}: {value}   # the export has no such column: one value for every row")
    return "\n".join(out) + "\n"

