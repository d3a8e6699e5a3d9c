"""One mapped column's draft entry: the transforms its values need to fill its target."""
from __future__ import annotations

import re

from harmonise.mappings.columns import default_type
from harmonise.mappings.transforms import EXCEL_SERIAL
from harmonise.onboarding.decisions import ColumnDraft, FileDraft
from harmonise.onboarding.headers import CONFIDENT, SPLIT_REGIMEN
from harmonise.onboarding.suggest import (MULTI_VALUED, TARGET_VOCAB, _shown, _unknown_todo,
                                          guess_separator, vocabulary_coverage)

#: A date column of small whole numbers is an offset from the start of therapy.
MAX_OFFSET = 20000


def target_type(target: str) -> str:
    table, column = target.split(".")
    return default_type(table, column)


def map_column(column, target: str, score: float, how: str, file: FileDraft,
               start_mapped: bool) -> ColumnDraft:
    """The entry for a column mapped to ``target``, with the transforms its values need."""
    note = how if score >= CONFIDENT else f"{how}: check"
    todos: list[str] = []
    counts = column.counts
    if target == SPLIT_REGIMEN:
        sep = guess_separator(counts, "agent") or "+"
        spec: dict = {SPLIT_REGIMEN: {"separator": sep}}
        _, unknown = vocabulary_coverage(counts, "agent", sep)
        if unknown:
            todos.append(_unknown_todo(unknown, "agent", target))
        return ColumnDraft(column.name, spec,
                           note=note, todos=todos, target=target)
    spec = {"to": target}
    kind = target_type(target)
    vocabulary = TARGET_VOCAB.get(target) or ("boolean" if kind == "boolean" else None)
    if column.type == "empty":
        note += "; empty in this export"
    if vocabulary:
        if vocabulary != "boolean":
            spec["vocab"] = vocabulary
        sep = guess_separator(counts, vocabulary) if target in MULTI_VALUED else None
        if sep:
            spec["separator"] = sep
        _, unknown = vocabulary_coverage(counts, vocabulary, sep)
        if unknown:
            todos.append(_unknown_todo(unknown, vocabulary, target))
    elif kind in ("integer", "number"):
        numeric = [v for v in counts if re.fullmatch(r"[+-]?\d+(?:[.,]\d+)?", v)]
        if len(numeric) < len(counts):
            if all(re.fullmatch(r"\D*?(\d+)\D*", v) for v in counts):
                spec["extract"] = r"(\d+)"
                example = next(v for v in counts if v not in numeric)
                note += f"; values like {example!r}: keep the number"
            else:
                bad = {v: n for v, n in counts.items() if v not in numeric}
                todos.append(f"values that are not numbers: {_shown(bad)}; add `extract:` or fix the export")
        if column.decimal == "," and file.decimal != ",":
            spec["decimal"] = ","
        if target == "patient.age_years" and any(re.search(r"[.,]\d*[1-9]", v) for v in counts):
            spec["age_rule"] = "floor"
            todos.append("ages with a fraction (e.g. 41,5): `age_rule: floor` counts completed years; "
                         "write `age_rule: round` if the study rounds")
    elif kind == "date":
        formats = column.date_formats
        if column.type == "empty":
            pass
        elif EXCEL_SERIAL in formats:
            spec["date_format"] = EXCEL_SERIAL
            note += "; Excel day numbers (44270 = 2021-03-15)"
        elif formats and file.date_format in formats:
            if len(formats) > 1:
                todos.append(f"ambiguous dates: each of {', '.join(formats)} reads every value; "
                             "check which one the hospital uses")
        elif formats:
            spec["date_format"] = formats[0]
            if len(formats) > 1:
                todos.append(f"ambiguous dates: each of {', '.join(formats)} reads every value; "
                             "check which one the hospital uses")
        elif column.type == "integer" and counts and max(int(v) for v in counts) <= MAX_OFFSET \
                and target != "treatment.start_date" and start_mapped:
            spec["days_after"] = "treatment.start_date"
            spec["unit"] = "days"
            todos.append("whole numbers, read as days after the start of therapy: confirm the unit "
                         "(days, weeks, months, years) with the hospital")
        else:
            todos.append("no date format reads every value of this column; set `date_format:` "
                         "(strptime, e.g. \"%d/%m/%Y\") or fix the export")
    return ColumnDraft(column.name, spec, note=note, todos=todos, target=target)
