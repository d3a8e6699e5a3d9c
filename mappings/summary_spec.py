"""``summaries:`` of a ``role: assessments`` file: which outcome columns its rows are summarised into.

A file of repeated measurements (one row per patient per assessment or visit) fills the
``assessment`` table; its ``summaries:`` say how each patient's rows become one value of an
``outcome`` column (``mappings.summaries`` computes them)::

    summaries:
      outcome.best_response: {summary: best_response, confirmation: none}
      outcome.progression_date: {summary: first_date_of, code: PD}
      outcome.last_followup_date: {summary: last_date, combine: latest}

A column both summarised here and filled by the patients file is a mapping error naming
both, unless ``combine:`` says how the two meet (docs/mapping-language.md). The reader's
checks are in ``mappings.summary_reader``.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Summary(StrEnum):
    """How a patient's assessment rows become one value."""

    #: the best response by the RECIST order (codes.yaml ``order``: CR > PR > SD > PD > NE),
    #: counted up to the first PD, with the declared confirmation rule
    BEST_RESPONSE = "best_response"
    #: the date of the first assessment whose response is ``code`` (e.g. the progression date)
    FIRST_DATE_OF = "first_date_of"
    #: the date of the last assessment or visit (last seen)
    LAST_DATE = "last_date"


class Combine(StrEnum):
    """How a summarised value meets the same column given directly in the patients file."""

    #: both may be given; where both are, they must be equal (else the patient is quarantined)
    AGREE = "agree"
    #: the patients file's value where it has one; the summary fills the empty cells
    FILL_BLANKS = "fill_blanks"
    #: the later of the two dates (last contact: the last visit or the last news)
    LATEST = "latest"


SUMMARY_KEYS = {"summary", "code", "confirmation", "combine", "note"}
#: The canonical column each summary fills (its type) and what it reads from the assessments.
TARGET_TYPES = {Summary.BEST_RESPONSE: "code", Summary.FIRST_DATE_OF: "date", Summary.LAST_DATE: "date"}
READS = {Summary.BEST_RESPONSE: ("assessment_date", "response"),
         Summary.FIRST_DATE_OF: ("assessment_date", "response"),
         Summary.LAST_DATE: ("assessment_date",)}


@dataclass(frozen=True)
class SummarySpec:
    """One declared summary: ``outcome.<column>`` from a file's assessment rows."""

    table: str
    column: str
    summary: Summary
    #: the response code whose first date is taken (``first_date_of`` only)
    code: str | None = None
    #: ``best_response``: a CR or PR counts only if a later assessment at least this many days
    #: after it shows a response at least as good; None = ``confirmation: none``
    confirmation_days: int | None = None
    combine: Combine | None = None
    #: the file entry it was declared in (for messages), and the line
    file: str = ""
    line: int | None = None

    @property
    def target(self) -> str:
        return f"{self.table}.{self.column}"

    def describe(self) -> str:
        if self.summary is Summary.BEST_RESPONSE:
            rule = ("no confirmation" if self.confirmation_days is None
                    else f"CR/PR confirmed at least {self.confirmation_days} days later")
            return f"best response by RECIST order ({rule})"
        if self.summary is Summary.FIRST_DATE_OF:
            return f"date of the first assessment with response {self.code}"
        return "date of the last assessment"
