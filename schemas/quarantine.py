"""The quarantine record: one typed record per failed cell (or per row held with its patient).

A record is made once, where the failure is found (the mapping engine, a pandera check,
the timeline, links, repeats), with the facts only: where (center, file, source row, source
column, canonical column), which rule (a ``Rule`` code), the value as read, and the inputs
of the message (a bound, a vocabulary, a pattern). Nothing downstream parses text back.

Words are made only at the edges (console, ``check``, report, the stored ``reason``):
``check_name`` and ``reason`` render a record; ``reason(record, general=True)`` words a
group of records about the same rule. ``failed_value`` is never filled for identifier
columns (the mapping engine leaves it empty there).

In pandas, a center's records travel as a frame whose columns are the record's fields
(``RECORD_COLUMNS``) plus the engine's ``_row_id``; ``rendered`` adds ``check_name`` and
``reason``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any, get_args, get_type_hints

import pandas as pd


class Rule(StrEnum):
    """Why a row did not load. The value is the stable code stored in ``quarantine.rule``."""

    # found while mapping the export
    MISSING_IDENTIFIER = "missing_identifier"
    UNKNOWN_CODE = "unknown_code"            # inputs: vocabulary, where, source, mapping_file[, part_of_cell]
    NOT_A_NUMBER = "not_a_number"            # inputs: kind (integer | number)
    NOT_WHOLE_NUMBER = "not_whole_number"
    NOT_WHOLE_AGE = "not_whole_age"          # an age with a fraction and no `age_rule:`
    NOT_A_GRADE = "not_a_grade"
    DATE_FORMAT = "date_format"              # inputs: formats
    PATTERN_MISMATCH = "pattern_mismatch"    # inputs: pattern, source
    ONE_IMMUNOTHERAPY = "one_immunotherapy"   # a regimen names one PD-1/PD-L1 inhibitor
    # found by the contract (pandera; inputs: check = pandera's name of the check)
    REQUIRED = "required"
    AT_LEAST = "at_least"                    # inputs: min_value
    AT_MOST = "at_most"                      # inputs: max_value
    BETWEEN = "between"                      # inputs: min_value, max_value
    NOT_ALLOWED = "not_allowed"              # inputs: allowed_values
    WRONG_FORM = "wrong_form"                # inputs: pattern
    WRONG_TYPE = "wrong_type"                # inputs: dtype
    DUPLICATE_PATIENT = "duplicate_patient"
    DUPLICATE = "duplicate"
    FAILS_CHECK = "fails_check"              # inputs: check (its name), error (its sentence)
    # found across rows and tables
    DATE_ORDER = "date_order"                # inputs: check (its name), error (its sentence)
    PATIENT_EXISTS = "patient_exists"
    MISSING_TABLE = "missing_table"          # inputs: table
    DUPLICATE_EVENT = "duplicate_event"      # inputs: first_file, first_row
    HELD = "held_with_patient"               # inputs: cause_file, cause_row, cause_check
    # found while summarising a file of assessments (inputs: summary_file, target, summary_words,
    # mapping_file, summary_value, summary_rows)
    SUMMARY_CONFLICT = "summary_conflict"
    NO_ASSESSMENTS = "no_assessments"
    REPEATED_ASSESSMENT = "repeated_assessment"  # inputs: first_file, first_row
    ASSESSMENT_CONFLICT = "assessment_conflict"  # inputs: first_file, first_row, other


def _stored(description: str, required: bool = False) -> dict:
    """Field metadata of a record field the warehouse's ``quarantine`` table stores."""
    return {"stored": description, "required": required}


@dataclass(frozen=True, slots=True, kw_only=True)
class QuarantineRecord:
    """One failed cell, or one row held because its patient failed elsewhere.

    The one declaration of the warehouse's ``quarantine`` table too: each field with
    ``_stored`` metadata is a column (in this order; ``required`` ones NOT NULL), followed by
    the ``RENDERED`` words and the ``load_id``. ``warehouse/ddl.py`` writes its DDL from
    here, the data dictionary describes it from here, the loader stores ``STORED_COLUMNS``.
    """

    center_id: str | None = field(default=None, metadata=_stored(
        "center the row came from (set when the center's records are gathered)", required=True))
    patient_key: str | None = field(default=None, metadata=_stored(
        "pseudonym, when the row had an identifier"))
    table_name: str = field(metadata=_stored("canonical table the row was meant for", required=True))
    source_file: str | None = field(default=None, metadata=_stored("export file name, as received"))
    source_row: int | None = field(default=None, metadata=_stored(
        "row in the file as a spreadsheet shows it (header = 1)"))
    column_name: str | None = field(default=None, metadata=_stored("canonical column"))
    source_column: str | None = field(default=None, metadata=_stored("column header in the export"))
    rule: Rule = field(metadata=_stored(
        "why, as a code (schemas/quarantine.py Rule; held_with_patient: held, not failed)",
        required=True))
    failed_value: str | None = field(default=None, metadata=_stored(
        "the failed value's shape (schemas/masking.py; the value as read only in the center's "
        "private store); never an identifier"))
    #: the inputs of the message (a bound, a vocabulary, a pattern): not stored, they live
    #: in the rendered ``reason``
    inputs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredColumn:
    """A column of the warehouse's ``quarantine`` table."""

    name: str
    kind: type          # str or int (the warehouse picks the SQL type)
    required: bool
    description: str


#: The words rendered at the edge (``rendered``) and stored after the record's facts.
RENDERED = (
    StoredColumn("check_name", str, True, "the check that failed, by name"),
    StoredColumn("reason", str, True, "what is wrong and what to do, for the data manager"),
)


def stored_columns() -> tuple[StoredColumn, ...]:
    """The ``quarantine`` table's columns besides ``load_id``: stored record fields, then ``RENDERED``."""
    hints = get_type_hints(QuarantineRecord)
    out = []
    for f in fields(QuarantineRecord):
        if "stored" in f.metadata:
            kind = next(t for t in (*get_args(hints[f.name]), hints[f.name]) if t is not type(None))
            out.append(StoredColumn(f.name, kind, f.metadata["required"], f.metadata["stored"]))
    return (*out, *RENDERED)


RECORD_COLUMNS = [f.name for f in fields(QuarantineRecord)]
#: The columns of the warehouse's ``quarantine`` table (besides ``load_id``): the record's
#: facts (its inputs live in its words) plus the rendered check name and reason.
STORED_COLUMNS = [c.name for c in stored_columns()]


def quarantine_frame(records: list[QuarantineRecord] = (), row_ids: list[int] = ()) -> pd.DataFrame:
    """Records as a frame (``RECORD_COLUMNS`` + ``_row_id``, the engine's row reference)."""
    rows = [asdict(r) | {"_row_id": i} for r, i in zip(records, row_ids or [None] * len(records))]
    frame = pd.DataFrame.from_records(rows, columns=RECORD_COLUMNS + ["_row_id"])
    return frame.astype({"source_row": "Int64", "_row_id": "Int64"})


def records_of(frame: pd.DataFrame) -> list[QuarantineRecord]:
    """The typed records of a quarantine frame (extra columns are ignored)."""
    out = []
    for row in frame[RECORD_COLUMNS].to_dict("records"):
        row = {k: (None if _missing(v) else v) for k, v in row.items()}
        row["rule"] = Rule(row["rule"])
        row["inputs"] = row["inputs"] or {}
        if row["source_row"] is not None:
            row["source_row"] = int(row["source_row"])
        out.append(QuarantineRecord(**row))
    return out


def rendered(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with ``check_name`` and ``reason`` worded from each record (an edge)."""
    out = frame.copy()
    records = records_of(frame) if len(frame) else []
    out["check_name"] = pd.Series([check_name(r) for r in records], index=frame.index, dtype=object)
    out["reason"] = pd.Series([reason(r) for r in records], index=frame.index, dtype=object)
    return out


#: Longest value copied into a quarantine record; longer ones are cut and marked.
MAX_SHOWN_VALUE = 200


def shown_value(value) -> str | None:
    """A value as text for a quarantine record: missing stays missing, a 100 MB cell is cut."""
    if _missing(value):
        return None
    if isinstance(value, pd.Timestamp):
        return str(value.date())
    text = str(value)
    if len(text) > MAX_SHOWN_VALUE:
        return f"{text[:MAX_SHOWN_VALUE]}… ({len(text):,} characters)"
    return text


def _missing(value) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and value != value


#: The name of the failed check as stored in ``quarantine.check_name``.
_CHECK_NAMES = {
    Rule.MISSING_IDENTIFIER: "not_nullable", Rule.UNKNOWN_CODE: "vocabulary:{vocabulary}",
    Rule.NOT_A_NUMBER: "type:{kind}", Rule.NOT_WHOLE_NUMBER: "type:integer",
    Rule.NOT_WHOLE_AGE: "type:integer",
    Rule.NOT_A_GRADE: "type:integer", Rule.DATE_FORMAT: "date_format",
    Rule.PATTERN_MISMATCH: "extract", Rule.ONE_IMMUNOTHERAPY: "regimen_one_immunotherapy",
    Rule.PATIENT_EXISTS: "patient_exists", Rule.MISSING_TABLE: "has_{table}",
    Rule.DUPLICATE_EVENT: "duplicate_event", Rule.HELD: "held_with_patient",
    Rule.SUMMARY_CONFLICT: "summary_agrees", Rule.NO_ASSESSMENTS: "has_assessments",
    Rule.REPEATED_ASSESSMENT: "repeated_assessment", Rule.ASSESSMENT_CONFLICT: "one_response_per_date",
}

class FixIn(StrEnum):
    """Where the fix of a failure belongs: the file the data manager must open."""

    EXPORT = "export"                  # the hospital's export (the data as sent)
    MAPPING = "mapping"                # the center's mappings/<center>.yaml
    PROJECT_VOCAB = "project_vocab"    # the project's vocab/<name>.yaml (spellings of the study)
    PROJECT_CODES = "project_codes"    # the project's codes.yaml (codes the study adds)
    HARMONISE = "harmonise"            # no file of the study can cause it: a bug to report

    @property
    def words(self) -> str:
        return _FIX_WORDS[self]


_FIX_WORDS = {FixIn.EXPORT: "the export", FixIn.MAPPING: "the mapping",
              FixIn.PROJECT_VOCAB: "the project's vocab/", FixIn.PROJECT_CODES: "the project's codes.yaml",
              FixIn.HARMONISE: "harmonise itself (report it)"}

#: Where each rule's fix belongs, most likely first (a property of the rule, rendered at the edges).
FIX_IN: dict[Rule, tuple[FixIn, ...]] = {
    Rule.MISSING_IDENTIFIER: (FixIn.EXPORT,),
    Rule.UNKNOWN_CODE: (FixIn.MAPPING, FixIn.PROJECT_VOCAB, FixIn.PROJECT_CODES),
    Rule.NOT_A_NUMBER: (FixIn.EXPORT, FixIn.MAPPING),
    Rule.NOT_WHOLE_NUMBER: (FixIn.EXPORT,),
    Rule.NOT_WHOLE_AGE: (FixIn.MAPPING,),
    Rule.NOT_A_GRADE: (FixIn.EXPORT,),
    Rule.DATE_FORMAT: (FixIn.EXPORT, FixIn.MAPPING),
    Rule.PATTERN_MISMATCH: (FixIn.EXPORT, FixIn.MAPPING),
    Rule.ONE_IMMUNOTHERAPY: (FixIn.EXPORT, FixIn.PROJECT_CODES),
    Rule.REQUIRED: (FixIn.EXPORT, FixIn.MAPPING),
    Rule.AT_LEAST: (FixIn.EXPORT,), Rule.AT_MOST: (FixIn.EXPORT,), Rule.BETWEEN: (FixIn.EXPORT,),
    Rule.NOT_ALLOWED: (FixIn.MAPPING,),
    Rule.WRONG_FORM: (FixIn.HARMONISE,),
    Rule.WRONG_TYPE: (FixIn.EXPORT, FixIn.MAPPING),
    Rule.DUPLICATE_PATIENT: (FixIn.EXPORT, FixIn.MAPPING),
    Rule.DUPLICATE: (FixIn.EXPORT,),
    Rule.FAILS_CHECK: (FixIn.EXPORT, FixIn.MAPPING),
    Rule.DATE_ORDER: (FixIn.EXPORT,),
    Rule.PATIENT_EXISTS: (FixIn.EXPORT,),
    Rule.MISSING_TABLE: (FixIn.EXPORT, FixIn.MAPPING),
    Rule.DUPLICATE_EVENT: (FixIn.EXPORT,),
    Rule.HELD: (),   # the fix belongs wherever the cause's does
    Rule.SUMMARY_CONFLICT: (FixIn.EXPORT, FixIn.MAPPING),
    Rule.NO_ASSESSMENTS: (FixIn.EXPORT, FixIn.MAPPING),
    Rule.REPEATED_ASSESSMENT: (FixIn.EXPORT,),
    Rule.ASSESSMENT_CONFLICT: (FixIn.EXPORT,),
}


def fix_sentence(rule: Rule) -> str:
    """``The fix belongs in the export or the mapping.`` ("" for a held row)."""
    places = [p.words for p in FIX_IN[rule]]
    if not places:
        return ""
    listed = places[0] if len(places) == 1 else f"{', '.join(places[:-1])} or {places[-1]}"
    return f"The fix belongs in {listed}."


#: What is wrong with the value (after the subject ``Column 'Age' (age_years) value '15'``)
#: and what to do; ``{...}`` are the record's inputs. ``reason`` adds where the fix belongs.
_PHRASES = {
    Rule.MISSING_IDENTIFIER: "has no patient identifier, so the row cannot be linked. "
                             "Fill in the identifier.",
    Rule.UNKNOWN_CODE: "matches no spelling of the code list '{vocabulary}'. A spelling of a listed "
                       "code: add it under `values:` for column '{source}' in {mapping_file}, or "
                       "to {where}; a code the list lacks (an agent, histology, AE term...): add it to the "
                       "project's codes.yaml.",
    Rule.NOT_A_NUMBER: "is not a {whole}number. Correct the value, or read the number out of it "
                       "with `extract:` in the mapping.",
    Rule.NOT_WHOLE_NUMBER: "is not a whole number. Correct the value.",
    Rule.NOT_WHOLE_AGE: "is not a whole number of years. If the export gives ages with a fraction, "
                        "say in the mapping how to make whole years: `age_rule: round` or "
                        "`age_rule: floor` on this column.",
    Rule.NOT_A_GRADE: "is not a CTCAE grade (a whole number 1-5). Leave the cell empty if there "
                      "was no such event.",
    Rule.DATE_FORMAT: "is not a date in the declared format ({formats}). Correct the date, or "
                      "declare the export's format with `date_format:`.",
    Rule.PATTERN_MISMATCH: "does not match the pattern {pattern!r} declared for column "
                           "'{source}'. Fix the value or the pattern.",
    Rule.ONE_IMMUNOTHERAPY: "must name exactly one immunotherapy agent (a PD-1 or PD-L1 "
                            "inhibitor). Check the regimen text; an immunotherapy agent the code "
                            "list lacks is added with `class: immunotherapy`.",
    Rule.REQUIRED: "is required but empty. Fill in the value (if the export never records it, "
                   "`not_recorded:` in the mapping, where allowed).",
    Rule.AT_LEAST: "must be at least {min_value}. Correct the value.",
    Rule.AT_MOST: "must be at most {max_value}. Correct the value.",
    Rule.BETWEEN: "must be between {min_value} and {max_value}. Correct the value.",
    Rule.NOT_ALLOWED: "is not one of the allowed codes {allowed_values}. Correct the code the "
                      "mapping gives it (`values:` or `constants:`).",
    Rule.WRONG_FORM: "does not have the expected form {pattern}.",
    Rule.WRONG_TYPE: "cannot be read as {dtype}. Correct the value, or the column's `type:`.",
    Rule.DUPLICATE_PATIENT: "appears more than once for the same patient (duplicate). Keep one "
                            "row per patient in the export (or give each course its own course "
                            "number).",
    Rule.DUPLICATE: "appears more than once (duplicate). Correct the value.",
    Rule.FAILS_CHECK: "fails the rule: {error}. Correct the value.",
    Rule.SUMMARY_CONFLICT: "disagrees with {summary_value}, the {summary_words} summarised from "
                           "{summary_file} (row(s) {summary_rows}). Correct the file that is wrong "
                           "in the export; if the patients file should win, write `combine: "
                           "fill_blanks` in the summary of {target} in {mapping_file}.",
}

#: Whole sentences, for failures about a row rather than one value.
_SENTENCES = {
    Rule.DATE_ORDER: "Dates out of order: {error} ({value}). Check the dates of this patient.",
    Rule.PATIENT_EXISTS: "This row refers to a patient who is not in the patients file. Check the "
                         "patient identifier, or add the patient to the export.",
    Rule.MISSING_TABLE: "The patient has no {table} data, so PFS and OS cannot be computed. Fill "
                        "in the {table} columns for this patient.",
    Rule.DUPLICATE_EVENT: "The same adverse event (term, grade, onset date) is already in "
                          "{first_file} row {first_row}; it is loaded once. Remove the repeated "
                          "row from the export.",
    Rule.HELD: "Held because this patient's row {cause_row} in {cause_file} was quarantined "
               "({cause_check}). It loads once that row is fixed.",
    Rule.NO_ASSESSMENTS: "The patient has no row in {summary_file}, from which {target} is "
                         "summarised ({summary_words}), and the patients file does not give it. "
                         "Add the patient's assessments to the export, or give the value in the "
                         "patients file and write `combine: fill_blanks` in the summary of {target} "
                         "in {mapping_file}.",
    Rule.REPEATED_ASSESSMENT: "The same assessment (date and response) is already in {first_file} "
                              "row {first_row}; it is loaded once. Remove the repeated row from "
                              "the export.",
    Rule.ASSESSMENT_CONFLICT: "Two different responses on the same date for this patient: {value} "
                              "here, {other} in {first_file} row {first_row}. Keep one assessment "
                              "per date in the export.",
}

#: A group of records of one rule, in general words (``harmonise check``).
_GENERAL = {
    Rule.UNKNOWN_CODE: "Not a known spelling (the values are listed above). "
                       + fix_sentence(Rule.UNKNOWN_CODE),
    Rule.HELD: "Held because another row of the same patient was quarantined (see the other "
               "reasons). These rows load once that row is fixed.",
}


def check_name(record: QuarantineRecord) -> str:
    """The failed check's name: ours (``vocabulary:agent``) or pandera's (``isin([...])``)."""
    template = _CHECK_NAMES.get(record.rule)
    if template is None:
        return str(record.inputs.get("check", record.rule.value))
    return template.format(**record.inputs)


def reason(record: QuarantineRecord, general: bool = False) -> str:
    """A sentence a data manager can act on.

    ``Column 'Age' (age_years) value '15' must be at least 18. Correct the value in the
    export.`` With ``general``, the words for a group of such records about one column:
    ``Value '15' must be ...`` (clear ``failed_value`` when the group's values differ).
    """
    if general and record.rule in _GENERAL:
        return _GENERAL[record.rule]
    inputs = {"whole": "whole " if record.inputs.get("kind") == "integer" else "",
              **record.inputs, "value": record.failed_value}
    fix = fix_sentence(record.rule)
    if record.rule in _SENTENCES:
        return f"{_SENTENCES[record.rule].format(**inputs)} {fix}".rstrip()
    phrase = f"{_PHRASES[record.rule].format(**inputs)} {fix}".rstrip()
    shown = "part" if record.inputs.get("part_of_cell") else "value"
    if general and record.failed_value is not None:
        return f"{shown.capitalize()} '{record.failed_value}' {phrase}"
    value = "" if record.failed_value is None else f" {shown} '{record.failed_value}'"
    return f"{_subject(record)}{value} {phrase}"


def _subject(record: QuarantineRecord) -> str:
    source, column = record.source_column, record.column_name
    if source and column and source != column:
        return f"Column '{source}' ({column})"
    if source or column:
        return f"Column '{source or column}'"
    return "Value"
