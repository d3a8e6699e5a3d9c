"""Derived canonical fields: named, tested computations an export commonly forces.

A hospital often records something other than the canonical field, but enough to compute
it. Each derivation here has a name a mapping file uses, the canonical column it fills,
the canonical column of the same row it needs, and a plain-words description (shown in
docs/mapping-language.md and in ``harmonise check``).

Two kinds:

- **cell derivations** (``derive:`` on a source column): the cell is the input, e.g. a birth
  date becomes the age at the start of therapy. A sensitive input (the birth date) is read,
  used and forgotten: it is never stored, logged or shown, not even in a quarantine record.
- **row derivations** (``derived:`` on a file entry): a canonical column computed from
  another one of the same row, e.g. the line of therapy as prior lines + 1.

A stop date given as a duration needs no derivation: ``days_after: treatment.start_date``
with ``unit: months`` (see the mapping language).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Derivation:
    """One named derivation: what it fills, from what, and what the input cell holds."""

    name: str
    target: str                 # canonical "table.column" it fills
    needs: str                  # canonical "table.column" of the same row it reads
    reads: str                  # what the source cell holds: "date", "boolean" (cell) or "" (row)
    explains: str               # plain words, for docs and messages
    sensitive: bool = False     # the input is never stored or shown


CELL_DERIVATIONS = {d.name: d for d in (
    Derivation("age_from_birth_date", "patient.age_years", "treatment.start_date", "date",
               "the cell is the birth date; the age is the completed years at the start of "
               "therapy (treatment.start_date). The birth date itself is never stored or shown.",
               sensitive=True),
    Derivation("death_flag", "outcome.death_date", "outcome.last_followup_date", "boolean",
               "the cell says whether the patient died (yes/no); the death date is the "
               "last-contact date (outcome.last_followup_date) of a patient who died, empty otherwise."),
)}

ROW_DERIVATIONS = {d.name: d for d in (
    Derivation("line_after_prior_lines", "treatment.line_of_therapy", "patient.prior_lines", "",
               "the line of therapy is the number of prior lines + 1 (0 prior lines = first line)."),
    Derivation("prior_lines_before_line", "patient.prior_lines", "treatment.line_of_therapy", "",
               "the number of prior lines is the line of therapy - 1 (first line = 0 prior lines)."),
)}


def age_from_birth_date(birth: pd.Series, start: pd.Series) -> pd.Series:
    """Completed years between two dates (the age on ``start``); missing if either is missing.

    A birthday on the start date counts (born 1970-03-05, start 2023-03-05: 53); a person
    born on 29 February has the birthday on 1 March in other years.
    """
    birth = pd.to_datetime(birth, errors="coerce")
    start = pd.to_datetime(start, errors="coerce")
    years = start.dt.year - birth.dt.year
    before = (start.dt.month < birth.dt.month) | (
        (start.dt.month == birth.dt.month) & (start.dt.day < birth.dt.day))
    age = years - before.astype("Int64")
    return age.astype("Int64").where(birth.notna() & start.notna())


def death_date_from_flag(died: pd.Series, last_contact: pd.Series) -> pd.Series:
    """The last-contact date where ``died`` is true, else missing (alive or unknown)."""
    dates = pd.to_datetime(last_contact, errors="coerce")
    return dates.where(died.fillna(False).astype(bool)).astype("datetime64[ns]")


def line_after_prior_lines(prior: pd.Series) -> pd.Series:
    return (pd.to_numeric(prior, errors="coerce") + 1).astype("Int64")


def prior_lines_before_line(line: pd.Series) -> pd.Series:
    return (pd.to_numeric(line, errors="coerce") - 1).astype("Int64")


COMPUTE = {
    "age_from_birth_date": age_from_birth_date,
    "death_flag": death_date_from_flag,
    "line_after_prior_lines": line_after_prior_lines,
    "prior_lines_before_line": prior_lines_before_line,
}


def apply_age_rule(number: pd.Series, rule: str) -> tuple[pd.Series, pd.Series]:
    """``(whole years, cells that break the rule)`` for an age written with a fraction (41.5).

    ``round``: to the nearest year (half up: 41.5 -> 42); ``floor``: completed years
    (41.5 -> 41); ``as_given``: only whole numbers are accepted (41.5 breaks the rule).
    """
    if rule == "round":
        return np.floor(number + 0.5).astype("Int64"), pd.Series(False, index=number.index)
    if rule == "floor":
        return np.floor(number).astype("Int64"), pd.Series(False, index=number.index)
    fractional = number.notna() & (number != np.floor(number))
    return number.where(~fractional).round().astype("Int64"), fractional
