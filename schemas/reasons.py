"""The words of a quarantine record, made only at the edges (console, ``check``, report, the
stored ``reason``): ``check_name`` and ``reason`` render a record; ``reason(record,
general=True)`` words a group of records about the same rule; ``rendered`` adds both to a
frame of records. Nothing downstream parses them back.
"""
from __future__ import annotations

import pandas as pd

from harmonise.schemas.quarantine import QuarantineRecord, Rule, fix_sentence, records_of


def rendered(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with ``check_name`` and ``reason`` worded from each record (an edge)."""
    out = frame.copy()
    records = records_of(frame) if len(frame) else []
    out["check_name"] = pd.Series([check_name(r) for r in records], index=frame.index, dtype=object)
    out["reason"] = pd.Series([reason(r) for r in records], index=frame.index, dtype=object)
    return out


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
