"""The shape of a quarantine record, and the words that explain a failed check.

One record per failed cell (or per held row). ``failed_value`` is the value as read,
never for identifier columns (the mapping engine leaves it empty there).
"""
from __future__ import annotations

import re

import pandas as pd

ISSUE_COLUMNS = [
    "center_id", "patient_key", "table_name", "source_file", "source_row",
    "column_name", "source_column", "check_name", "failed_value", "reason",
]


def issue_frame(records: list[dict]) -> pd.DataFrame:
    """Records in the quarantine shape (plus the engine's ``_row_id``), missing keys empty."""
    frame = pd.DataFrame.from_records(records, columns=ISSUE_COLUMNS + ["_row_id"])
    return frame.astype({"source_row": "Int64", "_row_id": "Int64"})


#: Longest value copied into a quarantine record; longer ones are cut and marked.
MAX_SHOWN_VALUE = 200


def shown_value(value) -> str | None:
    """A value as text for a quarantine record: missing stays missing, a 100 MB cell is cut."""
    if value is None or value is pd.NA or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return str(value.date())
    text = str(value)
    if len(text) > MAX_SHOWN_VALUE:
        return f"{text[:MAX_SHOWN_VALUE]}… ({len(text):,} characters)"
    return text


_PHRASES = [
    (r"^not_nullable$", "is required but empty"),
    (r"^greater_than_or_equal_to\((.*)\)$", "must be at least {0}"),
    (r"^less_than_or_equal_to\((.*)\)$", "must be at most {0}"),
    (r"^in_range\((.*), (.*)\)$", "must be between {0} and {1}"),
    (r"^isin\((.*)\)$", "is not one of the allowed codes {0}"),
    (r"^str_matches\((.*)\)$", "does not have the expected form {0}"),
    (r"^multiple_fields_uniqueness$", "appears more than once for the same patient (duplicate)"),
    (r"^field_uniqueness$", "appears more than once (duplicate)"),
    (r"^coerce_dtype\('(.*)'\)$", "cannot be read as {0}"),
    (r"^dtype\('(.*)'\)$", "is not of type {0}"),
]

_HINTS = {
    "multiple_fields_uniqueness": "Keep one row per patient in the export (or give each course its own course number).",
    "not_nullable": "Fill in the value in the export.",
}


def describe_check(column: str | None, check: str, value) -> str:
    """A sentence a data manager can act on, e.g. ``age_years '15' must be at least 18.``"""
    text = shown_value(value)
    shown = "" if text is None else f" '{text}'"
    subject = f"{column}{shown}" if column else f"Value{shown}"
    for pattern, phrase in _PHRASES:
        match = re.match(pattern, check)
        if match:
            text = f"{subject} {phrase.format(*match.groups())}."
            hint = _HINTS.get(check.split("(")[0], "Correct the value in the export.")
            return f"{text} {hint}"
    return f"{subject} fails the rule: {check}. Correct the value in the export."
