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
mapping engine may pass the ``quarantine`` records it already made (unparseable dates,
unknown values), referencing rows by ``_row_id``.
"""
from __future__ import annotations

import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import pandas as pd
import pandera.pandas as pa

from harmonise.schemas.canonical import (DATAFRAME_CHECK_COLUMN, NOT_RECORDED_ALLOWED, RULE_COLUMNS,
                                         TABLES, Timeline, columns_of)
from harmonise.schemas.quarantine import (RECORD_COLUMNS, QuarantineRecord, Rule, check_name,
                                          quarantine_frame, records_of, shown_value)

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
                    cutoff: pd.Timestamp, quarantine: pd.DataFrame | None = None,
                    not_recorded: frozenset[tuple[str, str]] = frozenset()) -> ValidatedCenter:
    """Validate every table of one center lazily and split good rows from bad ones.

    Parameters
    ----------
    frames : ``{table: frame}`` for the tables of ``schemas.canonical.TABLES``; a table
        the center does not provide may be absent.
    cutoff : data cut-off; any recorded date after it fails ``no_date_after_cutoff``.
    quarantine : records the mapping engine already made, one per failed cell.
    not_recorded : ``(table, column)`` the center's export does not record (its mapping's
        ``not_recorded:``; only columns of ``NOT_RECORDED_ALLOWED``): stored empty, so
        "required" does not apply to them, nor any row rule that reads them
        (``RULE_COLUMNS``).
    """
    frames = {t: frames.get(t, _empty(t)) for t in TABLES}
    found = [quarantine if quarantine is not None else quarantine_frame()]
    for table, frame in frames.items():
        found.append(_schema_failures(table, frame, TABLES[table]))
    found.append(_timeline_failures(frames, cutoff))
    found.append(_link_failures(frames))
    found.append(_repeated_events(frames["adverse_event"]))
    failures = _drop_repeats(pd.concat([f for f in found if len(f)], ignore_index=True)
                             if any(len(f) for f in found) else quarantine_frame())
    failures = _without_not_recorded(failures, not_recorded)
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
    return ValidatedCenter(clean=clean, quarantine=quarantine[RECORD_COLUMNS + ["_row_id"]])


def _without_not_recorded(failures: pd.DataFrame, not_recorded: frozenset) -> pd.DataFrame:
    """Drop "required" failures of not-recorded columns and rules that read one of them."""
    if failures.empty or not not_recorded:
        return failures
    assert not_recorded <= NOT_RECORDED_ALLOWED, "the mapping reader checks the allowance"
    keep = []
    for table, column, rule, inputs in zip(failures["table_name"], failures["column_name"],
                                           failures["rule"], failures["inputs"]):
        check = (inputs or {}).get("check") if isinstance(inputs, dict) else None
        reads = RULE_COLUMNS.get(check, set())
        keep.append(not ((rule == Rule.REQUIRED and (table, column) in not_recorded)
                         or reads & not_recorded))
    return failures[keep].reset_index(drop=True)


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
    """Run one pandera model lazily; one record per failing (row, column, check)."""
    if frame.empty:
        return quarantine_frame()
    data = frame[columns_of(table)]
    try:
        with _quiet_pandera():
            model.validate(data, lazy=True)
    except pa.errors.SchemaErrors as err:
        return _records_from_failure_cases(table, frame, model.to_schema(), err.failure_cases)
    return quarantine_frame()


def _records_from_failure_cases(table: str, frame: pd.DataFrame, schema,
                                cases: pd.DataFrame) -> pd.DataFrame:
    # A dataframe-level check reports its failure once per column: keep one record per row,
    # about the column the check is about.
    is_frame_check = (cases["schema_context"] == "DataFrameSchema") & cases["check_number"].notna()
    frame_cases = cases[is_frame_check].drop_duplicates(subset=["check_number", "index"])
    records, row_ids = [], []
    for case in pd.concat([cases[~is_frame_check], frame_cases]).itertuples(index=False):
        rule, inputs, column = _rule_of(schema, case)
        index = case.index
        if index is None or (isinstance(index, float) and pd.isna(index)):
            targets = list(frame.index)  # a failure about the whole column: charge every row
        else:
            targets = [index]
        for idx in targets:
            value = frame.loc[idx, column] if column and rule is Rule.FAILS_CHECK and \
                case.schema_context == "DataFrameSchema" else case.failure_case
            records.append(QuarantineRecord(table_name=table, rule=rule, column_name=column,
                                            failed_value=shown_value(value), inputs=inputs))
            row_ids.append(frame.loc[idx, "_row_id"])
    return quarantine_frame(records, row_ids)


#: pandera's built-in checks -> our rule and the statistics its message needs.
_PANDERA_RULES = {
    "greater_than_or_equal_to": Rule.AT_LEAST, "less_than_or_equal_to": Rule.AT_MOST,
    "in_range": Rule.BETWEEN, "isin": Rule.NOT_ALLOWED, "str_matches": Rule.WRONG_FORM,
}
#: pandera's checks of the schema itself (no Check object): by their name.
_SCHEMA_RULES = {
    "not_nullable": Rule.REQUIRED, "field_uniqueness": Rule.DUPLICATE,
    "multiple_fields_uniqueness": Rule.DUPLICATE_PATIENT,
    "coerce_dtype": Rule.WRONG_TYPE, "dtype": Rule.WRONG_TYPE,
}


def _rule_of(schema, case) -> tuple[Rule, dict, str | None]:
    """The rule, message inputs and canonical column of one pandera failure case."""
    column = case.column if isinstance(case.column, str) else None
    inputs = {"check": str(case.check)}
    if pd.notna(case.check_number):
        if case.schema_context == "DataFrameSchema":
            check = schema.checks[int(case.check_number)]
            column = DATAFRAME_CHECK_COLUMN.get(check.name)
        else:
            check = schema.columns[column].checks[int(case.check_number)]
        rule = _PANDERA_RULES.get(check.name, Rule.FAILS_CHECK)
        if rule is Rule.FAILS_CHECK:
            return rule, {"check": check.name, "error": check.error}, column
        return rule, inputs | check.statistics, column
    rule = _SCHEMA_RULES.get(str(case.check).split("(")[0], Rule.FAILS_CHECK)
    if rule is Rule.WRONG_TYPE:
        inputs["dtype"] = str(schema.columns[column].dtype)
    return rule, inputs | {"error": str(case.check)}, column


def _timeline_failures(frames: dict[str, pd.DataFrame], cutoff: pd.Timestamp) -> pd.DataFrame:
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
        with _quiet_pandera():
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


def _link_failures(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Orphans (rows of an unknown patient) and patients missing a treatment or outcome row."""
    known = set(frames["patient"]["patient_key"].dropna())
    records, row_ids = [], []
    for table in ("treatment", "outcome", "adverse_event"):
        frame = frames[table]
        orphan = frame[frame["patient_key"].notna() & ~frame["patient_key"].isin(known)]
        for row_id in orphan["_row_id"]:
            records.append(QuarantineRecord(table_name=table, rule=Rule.PATIENT_EXISTS,
                                            column_name="patient_key"))
            row_ids.append(row_id)
    patients = frames["patient"]
    for table in ("treatment", "outcome"):
        present = set(frames[table]["patient_key"].dropna())
        missing = patients[patients["patient_key"].notna() & ~patients["patient_key"].isin(present)]
        for row_id in missing["_row_id"]:
            records.append(QuarantineRecord(table_name="patient", rule=Rule.MISSING_TABLE,
                                            inputs={"table": table}))
            row_ids.append(row_id)
    return quarantine_frame(records, row_ids)


def _repeated_events(events: pd.DataFrame) -> pd.DataFrame:
    """An adverse event sent twice (same patient, term, grade and onset date) loads once.

    Events without an onset date are not compared: two grade-1 episodes of the same term
    with unknown dates may both be real.
    """
    if events.empty:
        return quarantine_frame()
    dated = events[events["onset_date"].notna() & events["patient_key"].notna()]
    key = ["patient_key", "term", "grade", "onset_date"]
    repeat = dated[dated.duplicated(subset=key, keep="first")]
    first = dated.drop_duplicates(subset=key, keep="first").set_index(key)
    records = []
    for row in repeat.to_dict("records"):
        original = first.loc[tuple(row[k] for k in key)]
        records.append(QuarantineRecord(
            table_name="adverse_event", rule=Rule.DUPLICATE_EVENT,
            inputs={"first_file": original["_source_file"], "first_row": int(original["_source_row"])}))
    return quarantine_frame(records, list(repeat["_row_id"]))


def _drop_repeats(failures: pd.DataFrame) -> pd.DataFrame:
    """Keep the first report of a cell: the engine's (with the source value) beats pandera's."""
    if failures.empty:
        return failures
    column = failures["column_name"].fillna("")
    first = ~pd.DataFrame({"t": failures["table_name"], "r": failures["_row_id"],
                           "c": column}).duplicated()
    # A null reported by pandera for a cell the engine already explained is the same problem.
    kept = failures[first | (column == "")]
    checks = pd.Series([check_name(r) for r in records_of(kept)], index=kept.index)
    repeated = pd.DataFrame({"t": kept["table_name"], "r": kept["_row_id"],
                             "c": kept["column_name"], "k": checks}).duplicated()
    return kept[~repeated].reset_index(drop=True)


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
        return quarantine_frame()
    first = failures[failures["table_name"].isin(CORE_TABLES)].drop_duplicates("patient_key")
    causes = {r.patient_key: {"cause_row": r.source_row, "cause_file": r.source_file,
                              "cause_check": check_name(r)} for r in records_of(first)}
    records = [QuarantineRecord(
        table_name=table, rule=Rule.HELD, patient_key=row["patient_key"],
        source_file=row["_source_file"], source_row=int(row["_source_row"]),
        inputs=causes[row["patient_key"]]) for row in rows.to_dict("records")]
    return quarantine_frame(records, list(rows["_row_id"]))
