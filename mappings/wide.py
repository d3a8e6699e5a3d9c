"""Adverse events given wide (one grade column per event) melted into adverse-event rows."""
from __future__ import annotations

import pandas as pd

from harmonise.mappings import transforms
from harmonise.mappings.model import FileSpec
from harmonise.schemas.canonical import mapped_columns
from harmonise.schemas.quarantine import QuarantineRecord, Rule, shown_value


def melt_wide(spec: FileSpec, raw: pd.DataFrame, base: pd.DataFrame, row_ids
               ) -> tuple[pd.DataFrame, list[QuarantineRecord], list[int]]:
    """One grade column per adverse event -> one adverse-event row per non-empty cell.

    An empty cell, ``0`` or ``-`` means the patient did not have that event.
    """
    rows, records, record_rows = [], [], []
    for source, term in spec.wide_adverse_events.items():
        text = transforms.clean_text(raw[source])
        if spec.wide_extract:
            text = transforms.extract_group(text, spec.wide_extract).fillna(text)
        text = text.mask(text.isin(["0", "-", "无", "none", "None"]))
        present = text.notna()
        if not present.any():
            continue
        grade = pd.to_numeric(text[present], errors="coerce")
        part = base[present].copy()
        part["_row_id"] = [next(row_ids) for _ in range(int(present.sum()))]
        part["term"] = term
        part["grade"] = grade.round().astype("Int64")
        part["onset_date"] = pd.NaT
        bad = grade.isna() | (grade != grade.round())
        for idx in bad[bad].index:
            records.append(QuarantineRecord(
                table_name="adverse_event", rule=Rule.NOT_A_GRADE, column_name="grade",
                source_column=source, failed_value=shown_value(text.loc[idx])))
            record_rows.append(part.loc[idx, "_row_id"])
        rows.append(part)
    columns = ["_source_file", "_source_row", "patient_key", "center_id", "_row_id",
               *mapped_columns("adverse_event")]
    frame = pd.concat(rows, ignore_index=True)[columns] if rows else pd.DataFrame(columns=columns)
    return frame, records, record_rows
