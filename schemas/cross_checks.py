"""Checks across rows and tables of one center: date order, links to the patient, repeated
events and assessments."""
from __future__ import annotations

import pandas as pd
import pandera.pandas as pa

from harmonise.schemas.canonical import Timeline
from harmonise.schemas.pandera_cases import quiet_pandera
from harmonise.schemas.quarantine import QuarantineRecord, Rule, quarantine_frame, shown_value


def timeline_failures(frames: dict[str, pd.DataFrame], cutoff: pd.Timestamp) -> pd.DataFrame:
    """Check the clinical order of each patient's dates (treatment joined with outcome)."""
    treatment, outcome = frames["treatment"], frames["outcome"]
    if treatment.empty or outcome.empty:
        return quarantine_frame()
    timeline = treatment[["patient_key", "start_date", "end_date", "_row_id"]].merge(
        outcome[["patient_key", "progression_date", "death_date", "last_followup_date", "_row_id"]],
        on="patient_key", suffixes=("_treatment", "_outcome"))
    timeline["cutoff_date"] = pd.Timestamp(cutoff)
    model_columns = list(Timeline.to_schema().columns)
    try:
        with quiet_pandera():
            Timeline.validate(timeline[model_columns], lazy=True)
    except pa.errors.SchemaErrors as err:
        records, row_ids = [], []
        checks = Timeline.to_schema().checks
        by_check = err.failure_cases.dropna(subset=["index"]).groupby(["check_number", "index"])
        for (number, idx), cases in by_check:
            row = timeline.loc[idx]
            check = checks[int(number)]
            values = {c: row[c] for c in cases["column"] if c in row and "date" in str(c)
                      and c != "cutoff_date" and pd.notna(row[c])}
            shown = ", ".join(f"{c} {pd.Timestamp(v).date()}" for c, v in values.items())
            blamed = "outcome" if check.name != "end_not_before_start" else "treatment"
            records.append(QuarantineRecord(
                table_name=blamed, rule=Rule.DATE_ORDER, column_name=_TIMELINE_COLUMN.get(check.name),
                failed_value=shown, inputs={"check": check.name, "error": check.error}))
            row_ids.append(row[f"_row_id_{blamed}"])
        return quarantine_frame(records, row_ids)
    return quarantine_frame()


_TIMELINE_COLUMN = {
    "progression_not_before_start": "progression_date",
    "death_not_before_progression": "death_date",
    "death_not_before_start": "death_date",
    "end_not_before_start": "end_date",
    "followup_not_before_start": "last_followup_date",
    "followup_not_before_progression": "last_followup_date",
    "no_date_after_cutoff": None,
}


def link_failures(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Orphans (rows of an unknown patient) and patients missing a treatment or outcome row."""
    known = frames["patient"]["patient_key"].dropna().unique()
    records, row_ids = [], []
    for table in ("treatment", "outcome", "adverse_event", "assessment"):
        frame = frames[table]
        orphan = frame[frame["patient_key"].notna() & ~frame["patient_key"].isin(known)]
        for row_id in orphan["_row_id"]:
            records.append(QuarantineRecord(table_name=table, rule=Rule.PATIENT_EXISTS,
                                            column_name="patient_key"))
            row_ids.append(row_id)
    patients = frames["patient"]
    for table in ("treatment", "outcome"):
        present = frames[table]["patient_key"].dropna().unique()
        missing = patients[patients["patient_key"].notna() & ~patients["patient_key"].isin(present)]
        for row_id in missing["_row_id"]:
            records.append(QuarantineRecord(table_name="patient", rule=Rule.MISSING_TABLE,
                                            inputs={"table": table}))
            row_ids.append(row_id)
    return quarantine_frame(records, row_ids)


def repeated_events(events: pd.DataFrame) -> pd.DataFrame:
    """An adverse event sent twice (same patient, term, grade and onset date) loads once.

    Events without an onset date are not compared: two grade-1 episodes of the same term
    with unknown dates may both be real.
    """
    if events.empty:
        return quarantine_frame()
    dated = events[events["onset_date"].notna() & events["patient_key"].notna()]
    key = ["patient_key", "term", "grade", "onset_date"]
    repeat = dated[dated.duplicated(subset=key, keep="first")]
    if repeat.empty:
        return quarantine_frame()
    first = dated.drop_duplicates(subset=key, keep="first").set_index(key)
    records = []
    for row in repeat.to_dict("records"):
        original = first.loc[tuple(row[k] for k in key)]
        records.append(QuarantineRecord(
            table_name="adverse_event", rule=Rule.DUPLICATE_EVENT,
            inputs={"first_file": original["_source_file"], "first_row": int(original["_source_row"])}))
    return quarantine_frame(records, list(repeat["_row_id"]))


def repeated_assessments(assessments: pd.DataFrame) -> pd.DataFrame:
    """The same patient, date and response twice loads once; two responses on one date conflict."""
    if assessments.empty:
        return quarantine_frame()
    dated = assessments[assessments["assessment_date"].notna() & assessments["patient_key"].notna()]
    key = ["patient_key", "assessment_date"]
    repeat = dated[dated.duplicated(subset=key, keep="first")]
    if repeat.empty:
        return quarantine_frame()
    first = dated.drop_duplicates(subset=key, keep="first").set_index(key)
    records, row_ids = [], []
    for row in repeat.to_dict("records"):
        original = first.loc[(row["patient_key"], row["assessment_date"])]
        where = {"first_file": original["_source_file"], "first_row": int(original["_source_row"])}
        if shown_value(original["response"]) == shown_value(row["response"]):
            records.append(QuarantineRecord(table_name="assessment", rule=Rule.REPEATED_ASSESSMENT,
                                            column_name="assessment_date", inputs=where))
        else:
            records.append(QuarantineRecord(
                table_name="assessment", rule=Rule.ASSESSMENT_CONFLICT, column_name="response",
                failed_value=shown_value(row["response"]),
                inputs=where | {"other": shown_value(original["response"])}))
        row_ids.append(row["_row_id"])
    return quarantine_frame(records, row_ids)
