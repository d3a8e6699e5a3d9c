"""pandera models of the canonical (harmonised) tables.

Grain of each table:

- ``Patient``: one row per patient per center.
- ``Treatment``: one row per course of immunotherapy-based therapy (``course_no`` 1, 2, ...).
- ``Outcome``: one row per patient: best response and the dates that define PFS and OS.
- ``AdverseEvent``: one row per recorded adverse event (a patient may have several).
- ``Timeline``: not stored; the join of a patient's treatment and outcome dates, used to
  check that the dates are in clinical order.

Conventions: dates are calendar dates (pandas ``datetime64`` at midnight, stored as
DATE in the warehouse); ages in whole years at the start of therapy; categorical
columns hold codes of ``codes.yaml``; multi-valued agent columns hold codes joined by
``+`` in alphabetical order (``anlotinib+apatinib``), empty meaning none.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from harmonise.schemas.codes import codes

#: Dates before this are treated as placeholders (1900-01-01, 1970-01-01), not real dates.
#: PD-1 inhibitors were first approved in 2014; 2000 leaves ample room for history.
EARLIEST_PLAUSIBLE_DATE = pd.Timestamp("2000-01-01")

AGENT_SEPARATOR = "+"
PSEUDONYM_PATTERN = r"^[0-9a-f]{24}$"
CENTER_PATTERN = r"^[a-z][a-z0-9_]*$"

Int = pd.Int64Dtype  # nullable integer: missing stays missing instead of becoming a float

#: Who a row is about: every canonical table starts with these two columns.
PATIENT = ("center_id", "patient_key")


@dataclass(frozen=True)
class LineageColumn:
    """A column every stored canonical row carries besides its contract: where it came from."""

    name: str
    sql_type: str
    description: str


#: Lineage of every stored canonical row (the warehouse adds it at load time).
LINEAGE = (
    LineageColumn("source_file", "VARCHAR", "export file name, as received"),
    LineageColumn("source_sha256", "VARCHAR", "sha256 of that file"),
    LineageColumn("source_row", "INTEGER", "row in the file as a spreadsheet shows it (header = 1)"),
    LineageColumn("mapping_version", "VARCHAR", "mapping_version of mappings/<center>.yaml"),
    LineageColumn("load_id", "VARCHAR", "content address of the load (see load_log)"),
)


def _agents_in(agent_class: str):
    """Check that every ``+``-joined agent is a known agent of ``agent_class``."""
    allowed = set(codes("agent", **{"class": agent_class}))

    def ok(value) -> bool:
        return all(part in allowed for part in str(value).split(AGENT_SEPARATOR))

    def check(series: pd.Series) -> pd.Series:
        known = {v: v == "" or ok(v) for v in pd.unique(series.dropna())}  # once per value
        return series.map(known).fillna(True).astype(bool)

    return check


def _center_field():
    return pa.Field(str_matches=CENTER_PATTERN,
                    description="Center identifier, as in the mapping file name (e.g. site_a).")


def _key_field():
    return pa.Field(str_matches=PSEUDONYM_PATTERN,
                    description="Keyed pseudonym of the patient (HMAC-SHA256 of center and "
                                "source identifier, 24 hex characters). Never the MRN itself.")


def _date_field(description: str, nullable: bool = True, metadata: dict | None = None):
    return pa.Field(nullable=nullable, ge=EARLIEST_PLAUSIBLE_DATE, description=description,
                    metadata=metadata)


#: Field metadata of a column an export may lack (``not_recorded:`` in a mapping): the study's
#: analyses live without it (Table 1 counts "Not recorded"; a row rule that reads it is not
#: applied); stored NULL. Every other required column (sex, age, histology, the immunotherapy agent,
#: line of therapy, start and follow-up dates) is needed.
MAY_BE_NOT_RECORDED = {"may_be_not_recorded": True}


def _coded(vocabulary: str, description: str, nullable: bool = False, check: bool = True,
           metadata: dict | None = None, **where):
    """A column holding codes of ``vocabulary`` (``codes.yaml``; spellings in ``vocab/<name>.yaml``)."""
    allowed = {"isin": codes(vocabulary, **where)} if check else {}
    return pa.Field(nullable=nullable, description=description,
                    metadata={"vocabulary": vocabulary, **where, **(metadata or {})}, **allowed)


class _Canonical(pa.DataFrameModel):
    class Config:
        strict = True   # a column not in the contract is an error, not silently loaded
        coerce = True


class Patient(_Canonical):
    """One row per patient per center: characteristics at the start of therapy (Table 1)."""

    center_id: Series[str] = _center_field()
    patient_key: Series[str] = _key_field()
    sex: Series[str] = _coded("sex", "Sex: female or male.")
    age_years: Series[Int] = pa.Field(
        ge=18, le=120, description="Age in whole years at the start of immunotherapy-based "
                                   "therapy. The study enrolled adults only (>= 18).")
    histology: Series[str] = _coded("histology", "Histological subtype (ASPS, UPS, DDLPS, MFS "
                                                 "[FBS in the paper], AS, SS, LMS, CCS, MPNST, ES).")
    primary_site: Series[str] = _coded("primary_site", "Primary tumour site: extremity, trunk, "
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


class Treatment(_Canonical):
    """One row per course of immunotherapy-based therapy."""

    center_id: Series[str] = _center_field()
    patient_key: Series[str] = _key_field()
    course_no: Series[Int] = pa.Field(ge=1, description="Course number for the patient, from 1.")
    start_date: Series[pd.Timestamp] = _date_field(
        "Start of the immunotherapy-based therapy: time zero of PFS and OS.", nullable=False)
    line_of_therapy: Series[Int] = pa.Field(
        ge=1, le=21, description="Line of systemic therapy of this course (1 = first line).")
    immunotherapy_agent: Series[str] = _coded(
        "agent", "Immune checkpoint inhibitor given: a PD-1 or PD-L1 inhibitor (its `target` in "
                 "codes.yaml). Formerly pd1_agent.", **{"class": "immunotherapy"})
    antiangiogenic_agents: Series[str] = _coded(
        "agent", "Anti-angiogenic agent(s) given with it, '+'-joined; empty if none.",
        nullable=True, check=False, metadata={"class": "antiangiogenic"})
    cytotoxic_agents: Series[str] = _coded(
        "agent", "Cytotoxic agent(s) given with it, '+'-joined; empty if none.",
        nullable=True, check=False, metadata={"class": "cytotoxic"})
    local_treatment: Series[str] = _coded(
        "local_treatment", "Local treatment of metastases during the course (radiotherapy, "
                           "radiofrequency_ablation, surgery); empty if none.", nullable=True)
    end_date: Series[pd.Timestamp] = _date_field(
        "Date the course ended; empty while the patient is still on treatment.",
        metadata=MAY_BE_NOT_RECORDED)
    discontinuation_reason: Series[str] = _coded(
        "discontinuation_reason", "Why the course ended: progression, adverse_event, other, or ongoing.",
        metadata=MAY_BE_NOT_RECORDED)

    class Config:
        unique = [*PATIENT, "course_no"]

    @pa.check("antiangiogenic_agents", name="antiangiogenic_agents_known",
              error="every anti-angiogenic agent must be a known anti-angiogenic agent")
    def _antiangiogenic_known(cls, series: Series[str]) -> Series[bool]:
        return _agents_in("antiangiogenic")(series)

    @pa.check("cytotoxic_agents", name="cytotoxic_agents_known",
              error="every cytotoxic agent must be a known cytotoxic agent")
    def _cytotoxic_known(cls, series: Series[str]) -> Series[bool]:
        return _agents_in("cytotoxic")(series)

    @pa.dataframe_check(name="end_date_matches_reason",
                        error="a course has an end date exactly when it has ended: the end date "
                              "is empty when the reason is 'ongoing' and given for progression, "
                              "adverse_event or other (if the export records neither end dates nor "
                              "reasons, declare them `not_recorded:` in the mapping)")
    def _end_date_matches_reason(cls, df: pd.DataFrame) -> Series[bool]:
        ongoing = df["discontinuation_reason"] == "ongoing"
        return ongoing == df["end_date"].isna()


class Outcome(_Canonical):
    """One row per patient: best overall response and the dates that define PFS and OS."""

    center_id: Series[str] = _center_field()
    patient_key: Series[str] = _key_field()
    best_response: Series[str] = _coded(
        "best_response", "Best overall response by RECIST 1.1: CR, PR, SD, PD or NE (not evaluable).",
        metadata=MAY_BE_NOT_RECORDED)
    progression_date: Series[pd.Timestamp] = _date_field(
        "Date of disease progression; empty if the patient has not progressed.")
    death_date: Series[pd.Timestamp] = _date_field("Date of death from any cause; empty if alive.")
    last_followup_date: Series[pd.Timestamp] = _date_field(
        "Date the patient was last known alive (or date of death).", nullable=False)

    class Config:
        unique = [*PATIENT]


class AdverseEvent(_Canonical):
    """One row per adverse event, graded by CTCAE 5.0."""

    center_id: Series[str] = _center_field()
    patient_key: Series[str] = _key_field()
    term: Series[str] = _coded("ae_term", "Adverse event category (the 10 categories of the "
                                          "reference study's Table 2; see codes.yaml).")
    grade: Series[Int] = pa.Field(ge=1, le=5, description="CTCAE 5.0 grade, 1-5.")
    onset_date: Series[pd.Timestamp] = _date_field("Date of onset, when known.")


class Timeline(pa.DataFrameModel):
    """A patient's dates side by side (treatment joined with outcome), checked for clinical order.

    ``cutoff_date`` is the data cut-off of the run: no recorded date may lie after it.
    Validated per center, so a patient is identified by ``patient_key`` alone.
    """

    patient_key: Series[str]
    start_date: Series[pd.Timestamp] = pa.Field(nullable=True)
    end_date: Series[pd.Timestamp] = pa.Field(nullable=True)
    progression_date: Series[pd.Timestamp] = pa.Field(nullable=True)
    death_date: Series[pd.Timestamp] = pa.Field(nullable=True)
    last_followup_date: Series[pd.Timestamp] = pa.Field(nullable=True)
    cutoff_date: Series[pd.Timestamp]

    class Config:
        strict = True

    @pa.dataframe_check(name="progression_not_before_start",
                        error="progression date is before the start of therapy")
    def _progression_after_start(cls, df):
        return _not_before(df["progression_date"], df["start_date"])

    @pa.dataframe_check(name="death_not_before_progression",
                        error="death date is before the progression date")
    def _death_after_progression(cls, df):
        return _not_before(df["death_date"], df["progression_date"])

    @pa.dataframe_check(name="death_not_before_start",
                        error="death date is before the start of therapy")
    def _death_after_start(cls, df):
        return _not_before(df["death_date"], df["start_date"])

    @pa.dataframe_check(name="end_not_before_start",
                        error="end of treatment is before the start of therapy")
    def _end_after_start(cls, df):
        return _not_before(df["end_date"], df["start_date"])

    @pa.dataframe_check(name="followup_not_before_start",
                        error="last follow-up is before the start of therapy")
    def _followup_after_start(cls, df):
        return _not_before(df["last_followup_date"], df["start_date"])

    @pa.dataframe_check(name="followup_not_before_progression",
                        error="last follow-up is before the progression date")
    def _followup_after_progression(cls, df):
        return _not_before(df["last_followup_date"], df["progression_date"])

    @pa.dataframe_check(name="no_date_after_cutoff",
                        error="a date lies after the data cut-off")
    def _nothing_after_cutoff(cls, df):
        dates = df[TIMELINE_DATES]
        return dates.le(df["cutoff_date"], axis=0).where(dates.notna(), True).all(axis=1)


TIMELINE_DATES = ["start_date", "end_date", "progression_date", "death_date", "last_followup_date"]


def _not_before(later: pd.Series, earlier: pd.Series) -> pd.Series:
    """True where ``later >= earlier`` or either is missing."""
    return later.isna() | earlier.isna() | (later >= earlier)


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
}


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


def agent_class_columns() -> dict[str, str]:
    """``{agent class: treatment column}``: where a regimen's agents go, by their ``class``."""
    columns = TABLES["treatment"].to_schema().columns
    return {meta["class"]: name for name, col in columns.items()
            if (meta := col.metadata or {}).get("vocabulary") == "agent" and "class" in meta}


#: ``{"table.column": vocabulary}`` for every coded column.
COLUMN_VOCABULARY = {f"{t}.{c}": v for t in TABLES for c in columns_of(t)
                     if (v := vocabulary_of(t, c))}
