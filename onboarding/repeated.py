"""Does a profiled table hold repeated measurements: several rows per patient, each a dated response?

A file with one row per patient per tumour assessment (date + RECIST response) is drafted
as ``role: assessments`` with summaries into the outcome columns (docs/mapping-language.md);
declared as a patients file it would fail "appears more than once" on every repeated row.
``profile`` says so, ``new-center`` drafts it.
"""
from __future__ import annotations

from dataclasses import dataclass

from harmonise.onboarding.headers import match_header
from harmonise.onboarding.profile import TableProfile
from harmonise.onboarding.suggest import vocabulary_coverage

#: A patient column whose values repeat this much (rows per distinct value) marks repeated rows.
MIN_ROWS_PER_PATIENT = 1.5
#: Share of a column's values the response vocabulary must know (or a header naming a response).
RESPONSE_SHARE = 0.6
RESPONSE_TARGETS = ("assessment.response", "outcome.best_response")


@dataclass(frozen=True)
class RepeatedMeasurements:
    """What makes a table look like one row per patient per assessment."""

    patient_column: str
    rows_per_patient: float
    date_column: str
    response_column: str

    def describe(self) -> str:
        return (f"{self.rows_per_patient:.1f} rows per patient ('{self.patient_column}'), each with a "
                f"date ('{self.date_column}') and a response ('{self.response_column}')")


def repeated_measurements(table: TableProfile) -> RepeatedMeasurements | None:
    """The patient, date and response columns of a table of repeated assessments, or None."""
    ids = [c for c in table.identifiers if c.identifier == "mrn" and c.distinct]
    repeating = [(c.non_null / c.distinct, c) for c in ids if c.non_null / c.distinct >= MIN_ROWS_PER_PATIENT]
    if not repeating:
        return None
    per_patient, patient = max(repeating, key=lambda p: p[0])
    dates = [c for c in table.columns if c.type == "date" and not c.identifier]
    responses = [c for c in table.columns if not c.identifier and c.type == "text" and _is_response(c)]
    if not dates or not responses:
        return None
    by_header = [c for c in dates if any(t == "assessment.assessment_date" for _, t, _ in match_header(c.name))]
    return RepeatedMeasurements(patient.name, per_patient, (by_header or dates)[0].name, responses[0].name)


def _is_response(column) -> bool:
    if any(target in RESPONSE_TARGETS for _, target, _ in match_header(column.name)[:1]):
        return True
    return bool(column.counts) and vocabulary_coverage(column.counts, "best_response")[0] >= RESPONSE_SHARE


#: The summaries a file of assessments is drafted with: ``{outcome column: summary entry}``.
DRAFTED_SUMMARIES = {
    "outcome.best_response": {"summary": "best_response", "confirmation": "none"},
    "outcome.progression_date": {"summary": "first_date_of", "code": "PD"},
    "outcome.last_followup_date": {"summary": "last_date"},
}
#: How a drafted summary meets a column the patients file also fills.
DRAFTED_COMBINE = {"outcome.best_response": "agree", "outcome.progression_date": "agree",
                   "outcome.last_followup_date": "latest"}


def drafted_summaries(mapped: set[str], patients_targets: set[str]) -> tuple[dict[str, dict], list[str]]:
    """The ``summaries:`` of a drafted assessments file and its TODOs.

    ``mapped``: the file's own canonical columns; ``patients_targets``: those the patients
    file fills (a summary of one of them is drafted with ``combine:``, which the reader needs).
    """
    if "assessment.assessment_date" not in mapped:
        return {}, []
    out = {}
    for target, entry in DRAFTED_SUMMARIES.items():
        if entry["summary"] != "last_date" and "assessment.response" not in mapped:
            continue
        out[target] = dict(entry) | ({"combine": DRAFTED_COMBINE[target]} if target in patients_targets else {})
    todos = ["summaries: check each one. `confirmation: none` counts each response as recorded; if the "
             "protocol asks for confirmed responses (RECIST 1.1), write `confirmation: 28` (a CR or PR "
             "counts only if an assessment at least 28 days later confirms it)"]
    both = sorted(t for t in out if t in patients_targets)
    if both:
        todos.append(f"{', '.join(both)} also come(s) from the patients file: `combine: agree` "
                     "quarantines a patient whose two values differ, `fill_blanks` keeps the patients "
                     "file's value, `latest` the later date; or drop one of the two")
    return out, todos
