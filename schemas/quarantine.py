"""The quarantine record: one typed record per failed cell (or per row held with its patient).

A record is made once, where the failure is found (the mapping engine, a pandera check,
the timeline, links, repeats), with the facts only: where (center, file, source row, source
column, canonical column), which rule (a ``Rule`` code), the value as read, and the inputs
of the message (a bound, a vocabulary, a pattern). Nothing downstream parses text back.

Words are made only at the edges (console, ``check``, report, the stored ``reason``), by
``schemas/reasons.py``; where a rule's fix belongs is typed here (``FIX_IN``). ``failed_value`` is never filled for identifier
columns (the mapping engine leaves it empty there).

In pandas, a center's records travel as a frame whose columns are the record's fields
(``RECORD_COLUMNS``) plus the engine's ``_row_id``; ``reasons.rendered`` adds ``check_name``
and ``reason``.
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
    if not records:     # most checks find nothing: a copy of the empty frame (20x faster)
        return _NO_RECORDS.copy()
    rows = [asdict(r) | {"_row_id": i} for r, i in zip(records, row_ids or [None] * len(records))]
    frame = pd.DataFrame.from_records(rows, columns=RECORD_COLUMNS + ["_row_id"])
    return frame.astype(_FRAME_TYPES)


_FRAME_TYPES = {"source_row": "Int64", "_row_id": "Int64"}
_NO_RECORDS = pd.DataFrame(columns=RECORD_COLUMNS + ["_row_id"], dtype=object).astype(_FRAME_TYPES)


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
