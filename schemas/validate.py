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

from dataclasses import dataclass

import pandas as pd

from harmonise.schemas.canonical import NOT_RECORDED_ALLOWED, RULE_COLUMNS, TABLES, columns_of, contract
from harmonise.schemas.codes import CodeBook
from harmonise.schemas.cross_checks import (link_failures, repeated_assessments, repeated_events,
                                            timeline_failures)
from harmonise.schemas.pandera_cases import schema_failures
from harmonise.schemas.quarantine import RECORD_COLUMNS, QuarantineRecord, Rule, quarantine_frame, records_of
from harmonise.schemas.reasons import check_name

#: Lineage columns every canonical frame carries from the mapping engine.
LINEAGE = ["_row_id", "_source_file", "_source_row"]

#: Tables whose failure holds the whole patient.
CORE_TABLES = ("patient", "treatment", "outcome", "assessment")
#: Rules about a row that is loaded once anyway: they never hold the patient.
NOT_HOLDING = (Rule.REPEATED_ASSESSMENT,)


@dataclass
class ValidatedCenter:
    """Clean canonical frames (with lineage) ready to load, and the quarantine records."""

    clean: dict[str, pd.DataFrame]
    quarantine: pd.DataFrame


def validate_center(center_id: str, frames: dict[str, pd.DataFrame],
                    cutoff: pd.Timestamp, quarantine: pd.DataFrame | None = None,
                    not_recorded: frozenset[tuple[str, str]] = frozenset(),
                    codes: CodeBook | None = None) -> ValidatedCenter:
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
    codes : the study's code lists (built-in + its own codes); the built-in lists by default.
    """
    frames = {t: frames.get(t, _empty(t)) for t in TABLES}
    found = [quarantine if quarantine is not None else quarantine_frame()]
    for table, frame in frames.items():
        found.append(schema_failures(table, frame, contract(table, codes)))
    found.append(timeline_failures(frames, cutoff))
    found.append(link_failures(frames))
    found.append(repeated_events(frames["adverse_event"]))
    found.append(repeated_assessments(frames["assessment"]))
    failures = _drop_repeats(pd.concat([f for f in found if len(f)], ignore_index=True)
                             if any(len(f) for f in found) else quarantine_frame())
    failures = _without_not_recorded(failures, not_recorded)
    failures = _with_lineage(failures, frames)

    held_keys = _held_patient_keys(failures)
    clean, held = {}, []
    for table, frame in frames.items():
        row_failed = frame["_row_id"].isin(
            failures.loc[failures["table_name"] == table, "_row_id"]).astype(bool)
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


def _empty(table: str) -> pd.DataFrame:
    return pd.DataFrame(columns=columns_of(table) + LINEAGE)


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
    core = failures[failures["table_name"].isin(CORE_TABLES)
                    & ~failures["rule"].isin([r.value for r in NOT_HOLDING])]
    return set(core["patient_key"].dropna())


def _held_records(table: str, rows: pd.DataFrame, failures: pd.DataFrame) -> pd.DataFrame:
    """Quarantine records for rows held because their patient failed elsewhere."""
    if rows.empty:
        return quarantine_frame()
    first = failures[failures["table_name"].isin(CORE_TABLES)
                     & ~failures["rule"].isin([r.value for r in NOT_HOLDING])].drop_duplicates("patient_key")
    causes = {r.patient_key: {"cause_row": r.source_row, "cause_file": r.source_file,
                              "cause_check": check_name(r)} for r in records_of(first)}
    records = [QuarantineRecord(
        table_name=table, rule=Rule.HELD, patient_key=row["patient_key"],
        source_file=row["_source_file"], source_row=int(row["_source_row"]),
        inputs=causes[row["patient_key"]]) for row in rows.to_dict("records")]
    return quarantine_frame(records, list(rows["_row_id"]))
