"""pandera models of the canonical (harmonised) tables.

Grain of each table:

- ``Patient``: one row per patient per center.
- ``Treatment``: one row per course of immunotherapy-based therapy (``course_no`` 1, 2, ...).
- ``Outcome``: one row per patient: best response and the dates that define PFS and OS.
- ``AdverseEvent``: one row per recorded adverse event (a patient may have several).
- ``Assessment``: one row per tumour assessment (visit) of a patient: date and RECIST response.
- ``Timeline``: not stored; the join of a patient's treatment and outcome dates, used to
  check that the dates are in clinical order.

The conventions (dates, ages, codes, agent lists) and the field builders are in
``schemas/fields.py``; the lineage columns in ``schemas/lineage.py``; ``Timeline`` in
``schemas/timeline.py``. This module is the one declaration of the stored tables: the
DDL, the data dictionary, validation and the loader's column lists follow from it.
"""
from __future__ import annotations

from functools import lru_cache

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from harmonise.schemas.fields import (AGENT_SEPARATOR, CENTER_PATTERN, MAY_BE_NOT_RECORDED, PATIENT,
                                      CanonicalModel, Day, Int, Text, agents_in, center_field, coded,
                                      date_field, key_field, once_per_distinct_value)
from harmonise.schemas.codes import CodeBook
from harmonise.schemas.lineage import LINEAGE
from harmonise.schemas.timeline import Timeline

#: Also importable from here, beside the tables they describe: the conventions callers use
#: (``AGENT_SEPARATOR``, ``CENTER_PATTERN``, ``PATIENT``), ``LINEAGE`` and ``Timeline``.
__all__ = ["AGENT_SEPARATOR", "CENTER_PATTERN", "COLUMN_VOCABULARY", "DATAFRAME_CHECK_COLUMN",
           "LINEAGE", "NOT_RECORDED_ALLOWED", "PATIENT", "RENAMED_COLUMNS", "RENAMED_WHY",
           "RULE_COLUMNS", "TABLES", "AdverseEvent", "Assessment", "Outcome", "Patient", "Timeline", "Treatment",
           "agent_class_columns", "column_class", "columns_of", "contract", "may_be_not_recorded", "mapped_columns",
           "vocabulary_of"]


class Patient(CanonicalModel):
    """One row per patient per center: characteristics at the start of therapy (Table 1)."""

    center_id: Series[Text] = center_field()
    patient_key: Series[Text] = key_field()
    sex: Series[Text] = coded("sex", "Sex: female or male.")
    age_years: Series[Int] = pa.Field(
        ge=18, le=120, description="Age in whole years at the start of immunotherapy-based "
                                   "therapy. The study enrolled adults only (>= 18).")
    histology: Series[Text] = coded("histology", "Histological subtype (ASPS, UPS, DDLPS, MFS "
                                                 "[FBS in the paper], AS, SS, LMS, CCS, MPNST, ES).")
    primary_site: Series[Text] = coded("primary_site", "Primary tumour site: extremity, trunk, "
                                                       "retroperitoneum or other.",
                                       metadata=MAY_BE_NOT_RECORDED)
    lung_metastasis: Series[pd.BooleanDtype] = pa.Field(description="Lung metastases at baseline.",
                                                        metadata=MAY_BE_NOT_RECORDED)
    other_metastasis: Series[pd.BooleanDtype] = pa.Field(
        description="Metastases at sites other than the lung (bone, liver, ...) at baseline.",
        metadata=MAY_BE_NOT_RECORDED)
    ecog: Series[Int] = pa.Field(ge=0, le=4, description="ECOG performance status at baseline, 0-4.",
                                 metadata=MAY_BE_NOT_RECORDED)
    prior_lines: Series[Int] = pa.Field(
        ge=0, le=20, description="Number of prior lines of systemic therapy (0 = first line).",
        metadata=MAY_BE_NOT_RECORDED)

    class Config:
        unique = [*PATIENT]


class Treatment(CanonicalModel):
    """One row per course of immunotherapy-based therapy."""

    center_id: Series[Text] = center_field()
    patient_key: Series[Text] = key_field()
    course_no: Series[Int] = pa.Field(ge=1, description="Course number for the patient, from 1.")
    start_date: Series[Day] = date_field(
        "Start of the immunotherapy-based therapy: time zero of PFS and OS.", nullable=False)
    line_of_therapy: Series[Int] = pa.Field(
        ge=1, le=21, description="Line of systemic therapy of this course (1 = first line).")
    immunotherapy_agent: Series[Text] = coded(
        "agent", "Immune checkpoint inhibitor given: a PD-1 or PD-L1 inhibitor (its `target` in "
                 "codes.yaml). Formerly pd1_agent.", **{"class": "immunotherapy"})
    antiangiogenic_agents: Series[Text] = coded(
        "agent", "Anti-angiogenic agent(s) given with it, '+'-joined; empty if none.",
        nullable=True, check=False, metadata={"class": "antiangiogenic"})
    cytotoxic_agents: Series[Text] = coded(
        "agent", "Cytotoxic agent(s) given with it, '+'-joined; empty if none.",
        nullable=True, check=False, metadata={"class": "cytotoxic"})
    local_treatment: Series[Text] = coded(
        "local_treatment", "Local treatment of metastases during the course (radiotherapy, "
                           "radiofrequency_ablation, surgery); empty if none.", nullable=True)
    end_date: Series[Day] = date_field(
        "Date the course ended; empty while the patient is still on treatment.",
        metadata=MAY_BE_NOT_RECORDED)
    discontinuation_reason: Series[Text] = coded(
        "discontinuation_reason", "Why the course ended: progression, adverse_event, other, or ongoing.",
        metadata=MAY_BE_NOT_RECORDED)

    class Config:
        unique = [*PATIENT, "course_no"]

    @pa.check("antiangiogenic_agents", name="antiangiogenic_agents_known",
              error="every anti-angiogenic agent must be a known anti-angiogenic agent")
    def _antiangiogenic_known(cls, series: Series[str]) -> Series[bool]:
        return agents_in("antiangiogenic")(series)

    @pa.check("cytotoxic_agents", name="cytotoxic_agents_known",
              error="every cytotoxic agent must be a known cytotoxic agent")
    def _cytotoxic_known(cls, series: Series[str]) -> Series[bool]:
        return agents_in("cytotoxic")(series)

    @pa.dataframe_check(name="end_date_matches_reason",
                        error="a course has an end date exactly when it has ended: the end date "
                              "is empty when the reason is 'ongoing' and given for progression, "
                              "adverse_event or other (if the export records neither end dates nor "
                              "reasons, declare them `not_recorded:` in the mapping)")
    def _end_date_matches_reason(cls, df: pd.DataFrame) -> Series[bool]:
        ongoing = df["discontinuation_reason"] == "ongoing"
        return ongoing == df["end_date"].isna()


class Outcome(CanonicalModel):
    """One row per patient: best overall response and the dates that define PFS and OS."""

    center_id: Series[Text] = center_field()
    patient_key: Series[Text] = key_field()
    best_response: Series[Text] = coded(
        "best_response", "Best overall response by RECIST 1.1: CR, PR, SD, PD or NE (not evaluable).",
        metadata=MAY_BE_NOT_RECORDED)
    progression_date: Series[Day] = date_field(
        "Date of disease progression; empty if the patient has not progressed.")
    death_date: Series[Day] = date_field("Date of death from any cause; empty if alive.")
    last_followup_date: Series[Day] = date_field(
        "Date the patient was last known alive (or date of death).", nullable=False)

    class Config:
        unique = [*PATIENT]


class AdverseEvent(CanonicalModel):
    """One row per adverse event, graded by CTCAE 5.0."""

    center_id: Series[Text] = center_field()
    patient_key: Series[Text] = key_field()
    term: Series[Text] = coded("ae_term", "Adverse event category (the 10 categories of the "
                                          "reference study's Table 2; see codes.yaml).")
    grade: Series[Int] = pa.Field(ge=1, le=5, description="CTCAE 5.0 grade, 1-5.")
    onset_date: Series[Day] = date_field("Date of onset, when known.")


class Assessment(CanonicalModel):
    """One row per tumour assessment of a patient (a visit): its date and RECIST 1.1 response.

    Filled from a file with ``role: assessments``; its rows are summarised per patient into
    ``outcome`` columns as the mapping declares (``mappings/summaries.py``) and stored too, so
    every summarised value can be traced to the rows it came from. The same patient, date and
    response sent twice loads once; two different responses on one date hold the patient.
    """

    center_id: Series[Text] = center_field()
    patient_key: Series[Text] = key_field()
    assessment_date: Series[Day] = date_field("Date of the assessment (or visit).",
                                                       nullable=False)
    response: Series[Text] = coded(
        "best_response", "Overall response at this assessment by RECIST 1.1: CR, PR, SD, PD or NE; "
        "empty in a file of visits that records no response.", metadata=MAY_BE_NOT_RECORDED)


#: The columns each row rule reads (a rule is not applied where one of them is not recorded).
RULE_COLUMNS = {
    "end_date_matches_reason": {("treatment", "end_date"), ("treatment", "discontinuation_reason")},
}

#: The column each dataframe-level check of the stored tables is about (for quarantine records).
DATAFRAME_CHECK_COLUMN = {"end_date_matches_reason": "end_date"}

#: The stored canonical tables, in load order (parents before children).
TABLES: dict[str, type[pa.DataFrameModel]] = {
    "patient": Patient,
    "treatment": Treatment,
    "outcome": Outcome,
    "adverse_event": AdverseEvent,
    "assessment": Assessment,
}


@lru_cache(maxsize=64)
def contract(table: str, book: CodeBook | None = None) -> pa.DataFrameSchema:
    """The pandera schema of ``table`` whose code checks read ``book``'s lists (the built-in
    lists with a study's own codes, ``schemas.study_codes``); the model's own schema otherwise.
    Its ``str_matches`` checks match each distinct value once (``fields.once_per_distinct_value``)."""
    schema = TABLES[table].to_schema()
    for name, column in schema.columns.items():
        if any(check.name == "str_matches" for check in column.checks):
            schema = schema.update_column(name, checks=[
                once_per_distinct_value(c) if c.name == "str_matches" else c
                for c in column.checks])
    grown = {vocabulary for vocabulary, _ in (book.added if book is not None else ())}
    if not grown:
        return schema
    for name, column in schema.columns.items():
        meta = column.metadata or {}
        if meta.get("vocabulary") not in grown:
            continue
        vocabulary, where = meta["vocabulary"], ({"class": meta["class"]} if "class" in meta else {})
        checks = [pa.Check.isin(book.codes(vocabulary, **where)) if check.name == "isin"
                  else pa.Check(agents_in(meta["class"], book), name=check.name, error=check.error)
                  if check.name == f"{name}_known" else check
                  for check in column.checks]
        schema = schema.update_column(name, checks=checks)
    return schema


def columns_of(table: str) -> list[str]:
    """The canonical column names of ``table``, in contract order."""
    return list(TABLES[table].to_schema().columns)


def mapped_columns(table: str) -> list[str]:
    """The columns of ``table`` a mapping fills (all but ``PATIENT``, which the engine sets)."""
    return [c for c in columns_of(table) if c not in PATIENT]


def vocabulary_of(table: str, column: str) -> str | None:
    """The vocabulary whose codes ``table.column`` holds (None for a free column)."""
    metadata = TABLES[table].to_schema().columns[column].metadata or {}
    return metadata.get("vocabulary")


def may_be_not_recorded(table: str, column: str) -> bool:
    """Whether an export may lack ``table.column`` (its Field carries ``MAY_BE_NOT_RECORDED``)."""
    metadata = TABLES[table].to_schema().columns[column].metadata or {}
    return bool(metadata.get("may_be_not_recorded"))


#: ``(table, column)`` an export may lack (``not_recorded:``), from the declaration.
NOT_RECORDED_ALLOWED = frozenset((t, c) for t in TABLES for c in columns_of(t)
                                 if may_be_not_recorded(t, c))

#: Canonical columns renamed since they were first declared: ``{(table, old): new}``. A mapping
#: that still names the old column is told the new one (and ``RENAMED_WHY``); an older
#: warehouse's column is renamed in place.
RENAMED_COLUMNS = {("treatment", "pd1_agent"): "immunotherapy_agent"}
RENAMED_WHY = {("treatment", "pd1_agent"): "it holds PD-1 and PD-L1 inhibitors alike"}


def column_class(table: str, column: str) -> str | None:
    """The one ``class`` of its vocabulary a column holds (``immunotherapy`` for
    ``treatment.immunotherapy_agent``), or None."""
    return (TABLES[table].to_schema().columns[column].metadata or {}).get("class")


def agent_class_columns() -> dict[str, str]:
    """``{agent class: treatment column}``: where a regimen's agents go, by their ``class``."""
    columns = TABLES["treatment"].to_schema().columns
    return {meta["class"]: name for name, col in columns.items()
            if (meta := col.metadata or {}).get("vocabulary") == "agent" and "class" in meta}


#: ``{"table.column": vocabulary}`` for every coded column.
COLUMN_VOCABULARY = {f"{t}.{c}": v for t in TABLES for c in columns_of(t)
                     if (v := vocabulary_of(t, c))}
