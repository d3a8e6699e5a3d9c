"""Map one export file: its cells through each column's transforms into canonical frames.

Cells that cannot be converted become ``QuarantineRecord``s and the cell is left empty;
validation decides what happens to the row.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from itertools import islice

import numpy as np
import pandas as pd

from harmonise.mappings import transforms
from harmonise.mappings.derive import CELL_DERIVATIONS, COMPUTE, ROW_DERIVATIONS
from harmonise.mappings.model import ROLE_TABLES, CenterMapping, ColumnSpec, FileSpec
from harmonise.mappings.pseudonym import Pseudonyms
from harmonise.mappings.readers import SOURCE_ROW
from harmonise.mappings.wide import melt_wide
from harmonise.schemas.canonical import TABLES, agent_class_columns, mapped_columns
from harmonise.schemas.distinct import by_value
from harmonise.schemas.quarantine import QuarantineRecord, Rule, quarantine_frame, shown_value


@dataclass
class MappedFile:
    frames: dict[str, pd.DataFrame]
    quarantine: pd.DataFrame
    sources: dict[tuple[str, str], str]
    #: ``{(table, column): ((base table, base column), unit)}``: offsets whose base date
    #: lives in another file of the center.
    deferred: dict = field(default_factory=dict)


def map_file(mapping: CenterMapping, spec: FileSpec, raw: pd.DataFrame, pseudonyms: Pseudonyms,
             row_ids) -> MappedFile:
    tables = sorted(ROLE_TABLES[spec.role], key=list(TABLES).index)
    base = pd.DataFrame({"_source_file": spec.name, "_source_row": raw[SOURCE_ROW]})
    id_column = next(c for c in spec.columns.values() if c.action == "pseudonymise")
    base["patient_key"] = pseudonyms.of(raw[id_column.source])
    base["center_id"] = mapping.center
    values: dict[tuple[str, str], pd.Series] = {}
    problems: list[tuple[ColumnSpec, str, str, transforms.Problem, pd.Series]] = []
    sources, deferred = {}, {}
    mapping_file = f"mappings/{mapping.path.name}"

    missing_key = base["patient_key"].isna()
    problems.append((id_column, tables[0], "patient_key",
                     transforms.Problem(missing_key, Rule.MISSING_IDENTIFIER), None))

    # First pass: everything except offsets, which need their base date.
    ordered = sorted(spec.columns.values(), key=lambda c: c.days_after is not None)
    inputs: dict[str, tuple[ColumnSpec, pd.Series]] = {}   # derive: cell derivations' inputs
    for col in ordered:
        if col.action in ("drop", "identifier", "pseudonymise") or col.source not in raw:
            continue
        # Each transform is a function of the cell alone: run it once per distinct cell.
        distinct, spread = by_value(raw[col.source])
        text = cleaned = transforms.clean_text(distinct)
        raw_text = spread(cleaned)
        if col.action == "split_regimen":
            result, found = transforms.split_regimen(text, col, mapping_file, mapping.codes)
            for target, series in result.items():
                values[("treatment", target)] = spread(series)
                sources[("treatment", target)] = col.source
            problems += [(col, "treatment", agent_class_columns()["immunotherapy"], _spread(p, spread), raw_text)
                         for p in found]
            continue
        found = []
        if col.extract:
            text, more = transforms.extract(text, col.extract, col)
            found += more
        if col.vocab or col.values:
            text, more = transforms.to_codes(text, col, mapping_file)
            found += more
        if col.days_after:
            number, more = transforms.to_type(text, _as_number(col))
            number = spread(number)
            found += more
            if col.days_after in values:
                out = transforms.offset_dates(number, values[col.days_after], col.unit)
            else:  # the base date is in another file of the center: resolve after all files
                out = number
                deferred[(col.table, col.field)] = (col.days_after, col.unit)
        else:
            out, more = transforms.to_type(text, col)
            out = spread(out)
            found += more
        if col.derive:
            inputs[col.derive] = (col, out)
        else:
            values[(col.table, col.field)] = out
        sources[(col.table, col.field)] = col.source
        problems += [(col, col.table, col.field, _spread(p, spread), raw_text) for p in found]

    for name, (col, cells) in inputs.items():  # a birth date -> an age, a flag -> a date
        needs = tuple(CELL_DERIVATIONS[name].needs.split("."))
        values[(col.table, col.field)] = COMPUTE[name](cells, values[needs])
    for (table, column), name in spec.derived.items():  # prior lines -> line of therapy
        needs = tuple(ROW_DERIVATIONS[name].needs.split("."))
        values[(table, column)] = COMPUTE[name](values[needs])
        sources[(table, column)] = sources.get(needs, "")

    for (table, column), constant in spec.constants.items():
        values[(table, column)] = pd.Series([constant] * len(raw), index=raw.index)

    frames, ids = {}, {}
    for table in tables:
        ids[table] = pd.Series(np.fromiter(islice(row_ids, len(raw)), dtype=np.int64,
                                           count=len(raw)), index=raw.index)
        mapped = {column: values.get((table, column), pd.Series(None, index=raw.index, dtype=object))
                  for column in mapped_columns(table)}
        frames[table] = pd.concat([base.assign(_row_id=ids[table]),
                                   pd.DataFrame(mapped, index=raw.index)], axis=1)

    records, record_rows = [], []
    for col, table, column, problem, text in problems:
        table = table if table in ids else tables[0]
        for idx in problem.mask[problem.mask.fillna(False).astype(bool)].index:
            value = None if text is None or _sensitive(col) else shown_value(text.loc[idx])
            inputs = problem.inputs
            if problem.parts is not None and value is not None:  # the unknown part, not the cell
                parts = [shown_value(p) for p in problem.parts.loc[idx]]
                value, inputs = shown_value(", ".join(parts)), {**inputs, "parts": parts}
            records.append(QuarantineRecord(
                table_name=table, rule=problem.rule, column_name=column, source_column=col.source,
                failed_value=value, inputs=inputs))
            record_rows.append(ids[table].loc[idx])
    if spec.wide_adverse_events:
        frames["adverse_event"], wide_records, wide_rows = melt_wide(spec, raw, base, row_ids)
        records += wide_records
        record_rows += wide_rows
        for source in spec.wide_adverse_events:
            sources.setdefault(("adverse_event", "grade"), source)
    return MappedFile(frames, quarantine_frame(records, record_rows), sources, deferred)


def _spread(problem: transforms.Problem, spread) -> transforms.Problem:
    parts = None if problem.parts is None else spread(problem.parts)
    return replace(problem, mask=spread(problem.mask), parts=parts)



def _sensitive(col: ColumnSpec) -> bool:
    """A cell never copied into a quarantine record: identifiers and birth dates."""
    return col.action in ("pseudonymise", "identifier") or bool(
        col.derive and CELL_DERIVATIONS[col.derive].sensitive)


def _as_number(col: ColumnSpec) -> ColumnSpec:
    return replace(col, type="number")
