"""Summarise each patient's assessment rows into the outcome columns the mapping declares.

A ``role: assessments`` file gives one row per patient per assessment (date, RECIST
response). Its ``summaries:`` (``mappings.summary_spec``) each fill one ``outcome`` column:

- ``best_response``: the best response by the RECIST order of ``codes.yaml`` (CR > PR > SD >
  PD > NE), over the assessments up to and including the first PD (a response after
  progression does not count). With ``confirmation: N``, a CR counts as CR only if an
  assessment at least N days later is CR; a PR (or an unconfirmed CR) counts as PR only if
  an assessment at least N days later is CR or PR; otherwise it counts as SD. With
  ``confirmation: none`` each response counts as recorded. SD has no minimum duration.
- ``first_date_of: <code>``: the date of the first assessment with that response (no such
  assessment: empty, e.g. not progressed).
- ``last_date``: the date of the last assessment or visit.

Then the value meets the patients file's own (``combine:``): absent, only the summary fills
the column (the mapping reader refuses a column filled twice); ``agree``, a cell both give
must be equal, else the patient's outcome row is quarantined naming both values and files;
``fill_blanks``, the patients file's value wins where it has one; ``latest``, the later date.
A patient with no row in the file whose summarised column stays empty is quarantined too:
silence would read as "not progressed". The rows that decided each value are named in
those records; every input row is stored in ``assessment`` with its lineage.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from harmonise.mappings.summary_spec import Combine, Summary, SummarySpec
from harmonise.schemas.codes import all_vocabularies
from harmonise.schemas.quarantine import QuarantineRecord, Rule, shown_value

PROGRESSION = "PD"


def recist_order() -> dict[str, int]:
    """``{code: rank}`` of the best_response vocabulary (1 = best), from ``codes.yaml``."""
    return {code: int(attrs["order"]) for code, attrs in all_vocabularies()["best_response"].items()}


@dataclass
class Summarised:
    """The outcome frame with its summarised columns, and what could not be summarised."""

    outcome: pd.DataFrame
    records: list[QuarantineRecord]
    row_ids: list[int]
    #: ``{(table, column): source column}`` for messages about the summarised columns
    sources: dict[tuple[str, str], str]


def best_response(rows: pd.DataFrame, confirmation_days: int | None) -> tuple[str | None, list[int]]:
    """One patient's best response and the source rows that decided it (rows sorted by date)."""
    order = recist_order()
    rows = rows[rows["response"].notna()]
    if rows.empty:
        return None, []
    pd_at = rows.index[rows["response"] == PROGRESSION]
    if len(pd_at):
        rows = rows.loc[:pd_at[0]]
    dates, responses, lines = list(rows["assessment_date"]), list(rows["response"]), list(rows["_source_row"])
    best, decided = None, []
    for i, response in enumerate(responses):
        counted, why = response, [lines[i]]
        if confirmation_days is not None and response in ("CR", "PR"):
            later = [j for j in range(i + 1, len(responses))
                     if (dates[j] - dates[i]).days >= confirmation_days]
            if response == "CR" and any(responses[j] == "CR" for j in later):
                counted, why = "CR", [lines[i], lines[next(j for j in later if responses[j] == "CR")]]
            elif any(responses[j] in ("CR", "PR") for j in later):
                counted = "PR"
                why = [lines[i], lines[next(j for j in later if responses[j] in ("CR", "PR"))]]
            else:
                counted = "SD"
        if best is None or order.get(counted, 99) < order.get(best, 99):
            best, decided = counted, why
    return best, decided


def first_date_of(rows: pd.DataFrame, code: str) -> tuple[pd.Timestamp | None, list[int]]:
    hits = rows[rows["response"] == code]
    if hits.empty:
        return None, []
    return hits["assessment_date"].iloc[0], [int(hits["_source_row"].iloc[0])]


def last_date(rows: pd.DataFrame) -> tuple[pd.Timestamp | None, list[int]]:
    if rows.empty:
        return None, []
    return rows["assessment_date"].iloc[-1], [int(rows["_source_row"].iloc[-1])]


def per_patient(assessments: pd.DataFrame, spec: SummarySpec) -> dict[str, tuple[object, list[int]]]:
    """``{patient_key: (value, deciding source rows)}`` over one file's dated rows."""
    rows = assessments[assessments["patient_key"].notna() & assessments["assessment_date"].notna()]
    rows = rows.sort_values(["assessment_date", "_source_row"], kind="stable")
    out = {}
    for key, group in rows.groupby("patient_key", sort=False):
        if spec.summary is Summary.BEST_RESPONSE:
            out[key] = best_response(group, spec.confirmation_days)
        elif spec.summary is Summary.FIRST_DATE_OF:
            out[key] = first_date_of(group, spec.code)
        else:
            out[key] = last_date(group)
    return out


def summarise(outcome: pd.DataFrame, assessments: pd.DataFrame, specs: list[SummarySpec],
              sources: dict[tuple[str, str], str], mapping_file: str) -> Summarised:
    """Fill ``outcome``'s summarised columns from ``assessments`` (both frames of one center)."""
    outcome = outcome.copy()
    records, row_ids, out_sources = [], [], {}
    missing_reported: set[tuple[str, str]] = set()
    for spec in specs:
        rows = assessments[assessments["_source_file"] == spec.file]
        found = per_patient(rows, spec)
        keys = outcome["patient_key"]
        summary = pd.Series([found.get(k, (None, []))[0] for k in keys], index=outcome.index, dtype=object)
        given = outcome[spec.column] if spec.column in outcome else pd.Series(None, index=outcome.index)
        both = given.notna() & summary.notna()
        if spec.combine is None:
            value = summary
        elif spec.combine is Combine.LATEST:
            value = pd.concat([pd.to_datetime(given), pd.to_datetime(summary)], axis=1).max(axis=1)
        else:
            value = given.where(given.notna(), summary)
        if spec.combine is Combine.AGREE:
            for idx in outcome.index[both & (given.astype(str) != summary.astype(str))]:
                lines = found[keys[idx]][1]
                records.append(QuarantineRecord(
                    table_name="outcome", rule=Rule.SUMMARY_CONFLICT, column_name=spec.column,
                    source_column=sources.get((spec.table, spec.column)),
                    failed_value=shown_value(given[idx]),
                    inputs=_inputs(spec, mapping_file, summary=shown_value(summary[idx]), rows=lines)))
                row_ids.append(int(outcome.at[idx, "_row_id"]))
        outcome[spec.column] = _typed(value, spec)
        if (spec.table, spec.column) not in sources:
            reads = "response" if spec.summary is Summary.BEST_RESPONSE else "assessment_date"
            out_sources[(spec.table, spec.column)] = sources.get(("assessment", reads), spec.file)
        absent = ~keys.isin(set(rows["patient_key"].dropna())) & outcome[spec.column].isna()
        for idx in outcome.index[absent & keys.notna()]:
            if (keys[idx], spec.file) in missing_reported:
                continue
            missing_reported.add((keys[idx], spec.file))
            records.append(QuarantineRecord(table_name="outcome", rule=Rule.NO_ASSESSMENTS,
                                            column_name=spec.column,
                                            inputs=_inputs(spec, mapping_file)))
            row_ids.append(int(outcome.at[idx, "_row_id"]))
    return Summarised(outcome, records, row_ids, out_sources)


def _inputs(spec: SummarySpec, mapping_file: str, summary: str | None = None,
            rows: list[int] = ()) -> dict:
    shown = ", ".join(str(r) for r in rows)
    return {"summary_file": spec.file, "target": spec.target, "summary_words": spec.describe(),
            "mapping_file": mapping_file, "summary_value": summary, "summary_rows": shown}


def _typed(value: pd.Series, spec: SummarySpec) -> pd.Series:
    if spec.summary is Summary.BEST_RESPONSE:
        return value.astype(object).where(value.notna(), None)
    return pd.to_datetime(value)
