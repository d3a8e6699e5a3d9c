"""Decide a draft mapping from a profile (the inference step): roles, identifiers, targets.

Given the ``TableProfile`` of each export file or sheet, ``plan_file`` decides, column by
column, what the draft says: the one pseudonymised record number, the identifiers to drop,
the canonical column each header or value set fills, and the transforms its values need.
What it cannot decide becomes a TODO. ``onboarding.writing`` turns the decisions into YAML.
"""
from __future__ import annotations

import re
from collections import Counter

import pandas as pd

from harmonise.mappings.model import ROLE_TABLES
from harmonise.mappings.transforms import EXCEL_SERIAL
from harmonise.mappings.vocabulary import translate
from harmonise.onboarding.column_entry import map_column, target_type
from harmonise.onboarding.decisions import ColumnDraft, Draft, FileDraft
from harmonise.onboarding.headers import SPLIT_REGIMEN, match_header
from harmonise.onboarding.identifiers import IDENTIFIER_HEADERS, IDENTIFIER_LABELS, header_has
from harmonise.onboarding.profile import TableProfile
from harmonise.onboarding.repeated import drafted_summaries, repeated_measurements
from harmonise.onboarding.suggest import MULTI_VALUED, TARGET_VOCAB, best_vocabulary
from harmonise.schemas.canonical import PATIENT, TABLES, mapped_columns

#: The records and the split-regimen target callers import from here.
__all__ = ["SPLIT_REGIMEN", "ColumnDraft", "Draft", "FileDraft", "plan_file"]


def _targets_of(role: str) -> set[str]:
    return {f"{t}.{c}" for t in ROLE_TABLES[role] for c in mapped_columns(t)}


def _required(role: str) -> list[str]:
    out = []
    for table in sorted(ROLE_TABLES[role], key=list(TABLES).index):
        for column, col in TABLES[table].to_schema().columns.items():
            if column not in PATIENT and not col.nullable:
                out.append(f"{table}.{column}")
    return out


def _mrn_rank(column) -> tuple:
    words = IDENTIFIER_HEADERS["mrn"]
    position = next((i for i, w in enumerate(words) if header_has(column.name, w)), len(words))
    distinct = column.distinct / column.non_null if column.non_null else 0
    return (position, -distinct)


def _wide_term(column) -> str | None:
    """The adverse-event code a patients-file column is named after, when it holds grades."""
    term = translate(pd.Series([column.name]), "ae_term").iloc[0]
    if pd.isna(term) or column.identifier:
        return None
    grades = all(re.fullmatch(r"\D{0,4}[0-5]\D{0,2}", v) for v in column.counts)
    return str(term) if grades else None


def _guess_role(table: TableProfile) -> tuple[str, str]:
    """``('patients'|'adverse_events'|'assessments', why)``: repeated dated responses make an
    assessments file; otherwise the canonical columns the headers match decide."""
    repeated = repeated_measurements(table)
    if repeated:
        return "assessments", repeated.describe()
    hits = Counter()
    for column in table.columns:
        if column.identifier:
            continue
        for _, target, _ in match_header(column.name)[:1]:
            hits["adverse_events" if target.startswith("adverse_event.") else "patients"] += 1
        if _wide_term(column):
            hits["patients"] += 1
    role = "adverse_events" if hits["adverse_events"] > hits["patients"] else "patients"
    why = (f"{hits['patients']} column(s) match patient/treatment/outcome columns, "
           f"{hits['adverse_events']} adverse-event columns")
    return role, why



def plan_file(file: FileDraft, key_header: str | None, start_mapped: bool,
              patients_targets: frozenset[str] = frozenset(),
              summarised: frozenset[str] = frozenset()) -> None:
    """Decide every column of one file (the draft's guesses and TODOs).

    ``patients_targets``: what the patients file fills (an assessments file's summaries meet
    them); ``summarised``: what a file of assessments will fill (not a TODO of the patients file).
    """
    table = file.table
    role, why = _guess_role(table)
    file.role = role
    file.notes.append(why)
    targets = _targets_of(role) | ({SPLIT_REGIMEN} if role == "patients" else set())

    # 1. identifiers: one pseudonymised record number, every other identifier dropped
    ids = table.identifiers
    same = [c for c in table.columns if key_header is not None and c.name == key_header]
    mrns = sorted((c for c in ids if c.identifier == "mrn"), key=_mrn_rank)
    key = same[0] if same else (mrns[0] if mrns else None)
    decided: dict[str, ColumnDraft] = {}
    for column in ids:
        if key is not None and column.name == key.name:
            continue
        if column.identifier == "birth_date" and role == "patients" and start_mapped:
            decided[column.name] = ColumnDraft(
                column.name, {"to": "patient.age_years", "derive": "age_from_birth_date"},
                note="a date of birth: becomes the age at the start of therapy, never stored",
                target="patient.age_years")
            continue
        decided[column.name] = ColumnDraft(
            column.name, {"identifier": "drop"},
            note=f"looks like {IDENTIFIER_LABELS[column.identifier]}: dropped unread")
    if key is not None:
        why_key = ("links to the patients file" if same
                   else f"looks like {IDENTIFIER_LABELS.get(key.identifier or 'mrn')}")
        decided[key.name] = ColumnDraft(key.name, {"identifier": "pseudonymise"},
                                        note=f"{why_key}: pseudonymised, never stored")

    # 2. wide adverse events (one grade column per event) in a patients file
    if role == "patients":
        for column in table.columns:
            if column.name in decided:
                continue
            term = _wide_term(column)
            if term:
                file.wide[column.name] = term
        if file.wide:
            cells = {v for c in file.wide for v in table.column(c).counts}
            if any(not re.fullmatch(r"[0-5]", v) for v in cells):
                file.wide_extract = r"([0-5])"

    # 3. canonical columns by header, then by values, each column and target used once
    free = [c for c in table.columns if c.name not in decided and c.name not in file.wide]
    candidates = []
    for column in free:
        for score, target, synonym in match_header(column.name, targets):
            candidates.append((score, target, column.name, f"header ~ '{synonym}'"))
    for column in free:
        if any(c[2] == column.name for c in candidates):
            continue
        found = best_vocabulary(column.counts)
        if found:
            vocabulary, share = found
            target = next((t for t, v in TARGET_VOCAB.items() if v == vocabulary and t in targets), None)
            if target is not None:
                candidates.append((0.7 * share, target, column.name,
                                   f"{share:.0%} of its values are in vocabulary '{vocabulary}'"))
    chosen: dict[str, tuple[str, float, str]] = {}
    used: set[str] = set()
    used |= {c.target for c in decided.values() if c.target}
    for score, target, source, how in sorted(candidates, key=lambda c: -c[0]):
        if source in chosen or target in used:
            continue
        chosen[source] = (target, score, how)
        used.add(target)

    # 4. the file's default date format: the most common one among its date columns
    formats = Counter()
    dated = [s for s, (t, _, _) in chosen.items() if t != SPLIT_REGIMEN and target_type(t) == "date"]
    for source in dated or [c.name for c in table.columns if c.type == "date"]:  # all date columns
        found = [f for f in table.column(source).date_formats if f != EXCEL_SERIAL]
        if found:
            formats[found[0]] += 1
    if formats:
        file.date_format = formats.most_common(1)[0][0]
        users = [c.name for c in table.columns if c.type == "date"
                 and file.date_format in c.date_formats]
        file.date_note = f"parses every value of {', '.join(users)}"
    marks = Counter(c.decimal for c in table.columns if c.type == "number")
    if marks and marks.most_common(1)[0][0] == ",":
        file.decimal = ","

    for column in table.columns:
        if column.name in decided:
            file.columns.append(decided[column.name])
        elif column.name in file.wide:
            continue
        elif column.name in chosen:
            target, score, how = chosen[column.name]
            file.columns.append(map_column(column, target, score, how, file, start_mapped))
        else:
            hint = f"{column.distinct} distinct value(s)" if column.non_null else "empty in this export"
            if column.hidden:
                hint += f"; {column.hidden}"
            file.columns.append(ColumnDraft(column.name, "drop", todos=[
                f"map or confirm drop (no canonical column matched; {hint})"]))

    for column in file.columns:
        cells = table.unsaved_formulas.get(column.source)
        if cells:
            column.todos.append(f"{cells} formula cell(s) whose result the workbook never saved read "
                                "as empty: open and save the file in Excel or LibreOffice, or export values")

    # several agents in one cell: the file's other agent columns use the same separator
    multi = [c for c in file.columns if c.target in MULTI_VALUED and isinstance(c.spec, dict)]
    seps = {c.spec["separator"] for c in multi if "separator" in c.spec}
    if len(seps) == 1:
        for c in multi:
            c.spec.setdefault("separator", next(iter(seps)))

    if key is None:
        first = file.columns[0]
        file.columns[0] = ColumnDraft(first.source, {"identifier": "pseudonymise"}, todos=[
            "no column looks like the patient's record number; mark the column that identifies "
            "the patient (the same one in every file) with `identifier: pseudonymise`"])

    # 5. what the canonical tables need and nobody fills
    if role == "patients" and "treatment.course_no" not in used:
        file.constants["treatment.course_no"] = 1
        used.add("treatment.course_no")
    if role == "patients" and "treatment.immunotherapy_agent" not in used and SPLIT_REGIMEN in used:
        used.add("treatment.immunotherapy_agent")
    if role == "assessments":
        file.summaries, file.summary_todos = drafted_summaries(used, set(patients_targets))
    missing = [t for t in _required(role) if t not in used and t not in summarised]
    if missing:
        file.todos.append(f"no column found for required canonical column(s) {', '.join(missing)}: "
                          "map the export's column, or add `constants:` if one value holds for all rows")
