"""Validate one center's canonical frames and split them into clean rows and quarantine.

Rules of the split:

- Every failing row goes to quarantine with the center, source file, source row, column,
  the failed check, the offending value and a reason worded for a data manager.
- A patient is *held* (all its rows, adverse events included) when any of its patient,
  treatment or outcome rows fails, when its dates are out of order, or when one of
  those rows is missing. Held rows are quarantined with ``check_name = held_with_patient``.
- A failing adverse-event row is quarantined alone; the patient still loads.
- Rows pointing at a patient who is not in the patients file are quarantined as orphans.

Input frames hold the canonical columns plus lineage columns (see ``LINEAGE``); the
mapping engine may pass ``issues`` it already found (unparseable dates, unknown values),
in the quarantine record shape, referencing rows by ``_row_id``.
"""
from __future__ import annotations

import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import pandas as pd
import pandera.pandas as pa

from harmonise.schemas.canonical import DATAFRAME_CHECK_COLUMN, TABLES, Timeline, columns_of
from harmonise.schemas.quarantine import ISSUE_COLUMNS, describe_check, issue_frame, shown_value

#: Lineage columns every canonical frame carries from the mapping engine.
LINEAGE = ["_row_id", "_source_file", "_source_row"]

#: Tables whose failure holds the whole patient.
CORE_TABLES = ("patient", "treatment", "outcome")


@dataclass
class ValidatedCenter:
    """Clean canonical frames (with lineage) ready to load, and the quarantine records."""

    clean: dict[str, pd.DataFrame]
    quarantine: pd.DataFrame


def validate_center(center_id: str, frames: dict[str, pd.DataFrame],
                    cutoff: pd.Timestamp, issues: pd.DataFrame | None = None) -> ValidatedCenter:
    """Validate every table of one center lazily and split good rows from bad ones.

    Parameters
    ----------
    frames : ``{table: frame}`` for the tables of ``schemas.canonical.TABLES``; a table
        the center does not provide may be absent.
    cutoff : data cut-off; any recorded date after it fails ``no_date_after_cutoff``.
    issues : problems the mapping engine already found, one row per failed cell.
    """
    frames = {t: frames.get(t, _empty(t)) for t in TABLES}
    found = [issues if issues is not None else issue_frame([])]
    for table, frame in frames.items():
        found.append(_schema_failures(table, frame, TABLES[table]))
    found.append(_timeline_failures(frames, cutoff))
    found.append(_link_failures(frames))
    found.append(_repeated_events(frames["adverse_event"]))
    failures = _drop_repeats(pd.concat([f for f in found if len(f)], ignore_index=True)
                             if any(len(f) for f in found) else issue_frame([]))
    failures = _with_lineage(failures, frames)

    held_keys = _held_patient_keys(failures)
    failed_rows = set(zip(failures["table_name"], failures["_row_id"]))
    clean, held = {}, []
    for table, frame in frames.items():
        row_failed = pd.Series([(table, r) in failed_rows for r in frame["_row_id"]],
                               index=frame.index, dtype=bool)
        is_held = frame["patient_key"].isin(held_keys) & ~row_failed
        held.append(_held_records(table, frame[is_held], failures))
        clean[table] = frame[~row_failed & ~is_held].reset_index(drop=True)
    quarantine = pd.concat([failures] + [h for h in held if len(h)], ignore_index=True)
    quarantine["center_id"] = center_id
    return ValidatedCenter(clean=clean, quarantine=quarantine[ISSUE_COLUMNS + ["_row_id"]])


@contextmanager
def _quiet_pandera():
    """pandera 0.35 + pandas 2.3 warn inside pandera's own error formatting; a data manager
    running `harmonise check` should not see that."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, module="pandera")
        yield


def _empty(table: str) -> pd.DataFrame:
    return pd.DataFrame(columns=columns_of(table) + LINEAGE)


def _schema_failures(table: str, frame: pd.DataFrame, model) -> pd.DataFrame:
    """Run one pandera model lazily; one issue per failing (row, column, check)."""
    if frame.empty:
        return issue_frame([])
    data = frame[columns_of(table)]
    try:
        with _quiet_pandera():
            model.validate(data, lazy=True)
    except pa.errors.SchemaErrors as err:
        return _issues_from_failure_cases(table, frame, err.failure_cases)
    return issue_frame([])


def _issues_from_failure_cases(table: str, frame: pd.DataFrame, cases: pd.DataFrame) -> pd.DataFrame:
    records = []
    row_ids = frame["_row_id"]
    # A dataframe-level check reports its message once per column: keep one record per row,
    # under the check's name and the column it is about.
    named = {check.error: check.name for check in TABLES[table].to_schema().checks}
    is_frame_check = cases["check"].astype(str).isin(named)
    frame_cases = cases[is_frame_check].drop_duplicates(subset=["check", "index"]).copy()
    frame_cases["column"] = [DATAFRAME_CHECK_COLUMN.get(named[c]) for c in frame_cases["check"]]
    frame_cases["failure_case"] = [frame.loc[i, col] if col else None
                                   for i, col in zip(frame_cases["index"], frame_cases["column"])]
    frame_cases["check"] = frame_cases["check"].map(named)
    parts = [part for part in (cases[~is_frame_check], frame_cases) if len(part)]
    if len(parts) == 2:
        cases = pd.concat(parts, ignore_index=True)
    elif parts:
        cases = parts[0]
    for case in cases.itertuples(index=False):
        index = case.index
        if index is None or (isinstance(index, float) and pd.isna(index)):
            # A failure about the whole column (e.g. wrong dtype): charge every row.
            targets = list(frame.index)
        else:
            targets = [index]
        for idx in targets:
            column = case.column if isinstance(case.column, str) else None
            records.append({
                "table_name": table, "_row_id": row_ids.loc[idx], "column_name": column,
                "check_name": str(case.check), "failed_value": shown_value(case.failure_case),
                "reason": describe_check(column, str(case.check), case.failure_case),
            })
    return issue_frame(records)


def _timeline_failures(frames: dict[str, pd.DataFrame], cutoff: pd.Timestamp) -> pd.DataFrame:
    """Check the clinical order of each patient's dates (treatment joined with outcome)."""
    treatment, outcome = frames["treatment"], frames["outcome"]
    if treatment.empty or outcome.empty:
        return issue_frame([])
    timeline = treatment[["patient_key", "start_date", "end_date", "_row_id"]].merge(
        outcome[["patient_key", "progression_date", "death_date", "last_followup_date", "_row_id"]],
        on="patient_key", suffixes=("_treatment", "_outcome"))
    timeline["cutoff_date"] = pd.Timestamp(cutoff)
    model_columns = list(Timeline.to_schema().columns)
    try:
        with _quiet_pandera():
            Timeline.validate(timeline[model_columns], lazy=True)
    except pa.errors.SchemaErrors as err:
        records = []
        by_check = err.failure_cases.dropna(subset=["index"]).groupby(["check", "index"])
        for (check, idx), cases in by_check:
            row = timeline.loc[idx]
            check = str(check)
            name = _TIMELINE_CHECK_NAMES.get(check, check)
            values = {c: row[c] for c in cases["column"] if c in row and "date" in str(c)
                      and c != "cutoff_date" and pd.notna(row[c])}
            shown = ", ".join(f"{c} {pd.Timestamp(v).date()}" for c, v in values.items())
            blamed = "outcome" if name != "end_not_before_start" else "treatment"
            records.append({
                "table_name": blamed, "_row_id": row[f"_row_id_{blamed}"],
                "column_name": _TIMELINE_COLUMN.get(name), "check_name": name,
                "failed_value": shown,
                "reason": f"Dates out of order: {check} ({shown}). Check the dates of this "
                          "patient in the export.",
            })
        return issue_frame(records)
    return issue_frame([])


def _timeline_check_names() -> dict[str, str]:
    schema = Timeline.to_schema()
    return {check.error: check.name for check in schema.checks}


_TIMELINE_CHECK_NAMES = _timeline_check_names()
_TIMELINE_COLUMN = {
    "progression_not_before_start": "progression_date",
    "death_not_before_progression": "death_date",
    "death_not_before_start": "death_date",
    "end_not_before_start": "end_date",
    "followup_not_before_start": "last_followup_date",
    "followup_not_before_progression": "last_followup_date",
    "no_date_after_cutoff": None,
}


def _link_failures(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Orphans (rows of an unknown patient) and patients missing a treatment or outcome row."""
    known = set(frames["patient"]["patient_key"].dropna())
    records = []
    for table in ("treatment", "outcome", "adverse_event"):
        frame = frames[table]
        orphan = frame[frame["patient_key"].notna() & ~frame["patient_key"].isin(known)]
        for row_id in orphan["_row_id"]:
            records.append({
                "table_name": table, "_row_id": row_id, "column_name": "patient_key",
                "check_name": "patient_exists", "failed_value": None,
                "reason": "This row refers to a patient who is not in the patients file. Check the "
                          "patient identifier, or add the patient to the export.",
            })
    patients = frames["patient"]
    for table in ("treatment", "outcome"):
        present = set(frames[table]["patient_key"].dropna())
        missing = patients[patients["patient_key"].notna() & ~patients["patient_key"].isin(present)]
        for row_id in missing["_row_id"]:
            records.append({
                "table_name": "patient", "_row_id": row_id, "column_name": None,
                "check_name": f"has_{table}", "failed_value": None,
                "reason": f"The patient has no {table} data, so PFS and OS cannot be computed. "
                          f"Fill in the {table} columns for this patient.",
            })
    return issue_frame(records)


def _repeated_events(events: pd.DataFrame) -> pd.DataFrame:
    """An adverse event sent twice (same patient, term, grade and onset date) loads once.

    Events without an onset date are not compared: two grade-1 episodes of the same term
    with unknown dates may both be real.
    """
    if events.empty:
        return issue_frame([])
    dated = events[events["onset_date"].notna() & events["patient_key"].notna()]
    key = ["patient_key", "term", "grade", "onset_date"]
    repeat = dated[dated.duplicated(subset=key, keep="first")]
    first = dated.drop_duplicates(subset=key, keep="first").set_index(key)
    records = []
    for row in repeat.to_dict("records"):
        original = first.loc[tuple(row[k] for k in key)]
        records.append({
            "table_name": "adverse_event", "_row_id": row["_row_id"], "column_name": None,
            "check_name": "duplicate_event", "failed_value": None,
            "reason": f"The same adverse event (term, grade, onset date) is already in "
                      f"{original['_source_file']} row {original['_source_row']}; it is loaded once. "
                      "Remove the repeated row from the export.",
        })
    return issue_frame(records)


def _drop_repeats(failures: pd.DataFrame) -> pd.DataFrame:
    """Keep the first report of a cell: the engine's (with the source value) beats pandera's."""
    if failures.empty:
        return failures
    column = failures["column_name"].fillna("")
    first = ~pd.DataFrame({"t": failures["table_name"], "r": failures["_row_id"],
                           "c": column}).duplicated()
    # A null reported by pandera for a cell the engine already explained is the same problem.
    return failures[first | (column == "")].drop_duplicates(
        subset=["table_name", "_row_id", "column_name", "check_name"]).reset_index(drop=True)


def _with_lineage(failures: pd.DataFrame, frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Attach source file, source row and patient key to each failure."""
    if failures.empty:
        return failures
    out = []
    for table, group in failures.groupby("table_name", sort=False):
        lineage = frames[table][["_row_id", "_source_file", "_source_row", "patient_key"]]
        merged = group.drop(columns=["source_file", "source_row", "patient_key"]).merge(
            lineage.rename(columns={"_source_file": "source_file", "_source_row": "source_row"}),
            on="_row_id", how="left")
        out.append(merged)
    return pd.concat(out, ignore_index=True)


def _held_patient_keys(failures: pd.DataFrame) -> set[str]:
    """Patients with a failing patient, treatment or outcome row: all their rows are held."""
    core = failures[failures["table_name"].isin(CORE_TABLES)]
    return set(core["patient_key"].dropna())


def _held_records(table: str, rows: pd.DataFrame, failures: pd.DataFrame) -> pd.DataFrame:
    """Quarantine records for rows held because their patient failed elsewhere."""
    if rows.empty:
        return issue_frame([])
    first = (failures[failures["table_name"].isin(CORE_TABLES)]
             .drop_duplicates("patient_key").set_index("patient_key"))
    records = []
    for row in rows.to_dict("records"):
        cause = first.loc[row["patient_key"]]
        records.append({
            "table_name": table, "_row_id": row["_row_id"], "patient_key": row["patient_key"],
            "source_file": row["_source_file"], "source_row": row["_source_row"],
            "column_name": None, "check_name": "held_with_patient", "failed_value": None,
            "reason": f"Held because this patient's row {cause['source_row']} in "
                      f"{cause['source_file']} was quarantined ({cause['check_name']}). "
                      "It loads once that row is fixed.",
        })
    return issue_frame(records)
