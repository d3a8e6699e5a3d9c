"""Apply a center's mapping to its export: text files in, canonical frames out.

``map_center`` reads each declared file, refuses it when its columns differ from the
mapping (a structural problem: the center fails alone), pseudonymises the patient
identifier, drops every other identifier unread, runs each column's transforms and
assembles one frame per canonical table. Cells that cannot be converted are returned
as ``quarantine`` records and the cell is left empty; validation decides
what happens to the row.
"""
from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field, replace
from itertools import count
from pathlib import Path

import numpy as np
import pandas as pd

from harmonise.mappings import transforms
from harmonise.mappings.derive import CELL_DERIVATIONS, COMPUTE, ROW_DERIVATIONS
from harmonise.mappings.errors import CenterError, StructuralProblems
from harmonise.mappings.pseudonym import pseudonymise
from harmonise.mappings.readers import SOURCE_ROW, read_export, sha256_of
from harmonise.mappings.spec import CenterMapping, ColumnSpec, FileSpec
from harmonise.schemas.canonical import TABLES, mapped_columns
from harmonise.schemas.quarantine import QuarantineRecord, Rule, quarantine_frame, shown_value


@dataclass
class SourceFile:
    """One export file as read: for lineage and the load log."""

    name: str
    path: Path
    sha256: str
    rows_read: int


@dataclass
class MappedCenter:
    """A center's export in canonical shape, before validation."""

    center: str
    mapping: CenterMapping
    frames: dict[str, pd.DataFrame]
    quarantine: pd.DataFrame
    files: list[SourceFile] = field(default_factory=list)
    #: ``{(table, column): source column}``: to tell a data manager which export column a
    #: canonical column came from.
    source_columns: dict[tuple[str, str], str] = field(default_factory=dict)


def center_inbox(inbox: Path, center: str) -> Path:
    """Where a center's export files are expected: ``<inbox>/<center>/``."""
    return Path(inbox) / center


def export_path(center: str, inbox: Path, name: str, allow_symlinks: bool = False) -> Path:
    """``<inbox>/<center>/<name>``, refused if it leaves that folder or passes a symbolic link.

    The mapping already refuses absolute names and ``..``; this catches a symbolic link
    inside the inbox (``site_a/p.csv -> ../site_b/p.csv``, or the center folder itself),
    which would load another folder's export under this center's name.
    """
    folder = center_inbox(inbox, center)
    path = folder / name
    if not allow_symlinks:
        for part in [folder, *(folder / Path(*Path(name).parts[:i + 1])
                               for i in range(len(Path(name).parts)))]:
            if part.is_symlink():
                raise CenterError(center, f"{part.name} is a symbolic link (to {os.readlink(part)}); "
                                          "exports are read only from the center's own folder",
                                  file=str(path), hint="Copy the export into the folder instead of "
                                  "linking it, or set allow_symlinks: true in harmonise.yaml.")
        if path.exists() and not path.resolve().is_relative_to(folder.resolve()):
            raise CenterError(center, "the export file lies outside the center's folder",
                              file=str(path), hint=f"Put the export in {folder}.")
    return path


def map_center(mapping: CenterMapping, inbox: Path, key: bytes,
               file_hashes: dict[str, str] | None = None,
               allow_symlinks: bool = False) -> MappedCenter:
    """Read and map every file of one center; raise ``CenterError`` on structural problems.

    ``file_hashes`` (file name -> sha256), when the caller already hashed the files, saves
    reading them twice.
    """
    folder = center_inbox(inbox, mapping.center)
    row_ids = count(1)
    pieces: dict[str, list[pd.DataFrame]] = {t: [] for t in TABLES}
    found, files, sources, deferred = [], [], {}, {}
    structural = _unmentioned_files(mapping, folder)
    raws = []
    for spec in mapping.files:  # read and check every file first: report every structural problem
        path = folder / spec.name
        try:
            path = export_path(mapping.center, inbox, spec.name, allow_symlinks)
            raw = read_export(mapping.center, path, spec)
        except CenterError as err:
            structural.append(err)
            continue
        problems = _check_columns(mapping, spec, raw, path)
        if spec.role == "patients" and raw.empty:
            problems.append(CenterError(
                mapping.center, "the patients file has a header but no rows", file=str(path),
                hint="A half-written or empty export would remove this center's patients from the "
                     "warehouse, so nothing was changed. Check the export and send it again."))
        structural += problems
        raws.append((spec, path, raw))
    if structural:
        raise StructuralProblems(structural)
    for spec, path, raw in raws:
        same = next((f for f in files if f.name == spec.name), None)
        if same is not None:  # another sheet of the same workbook: one file, rows of all sheets
            same.rows_read += len(raw)
        else:
            sha = (file_hashes or {}).get(spec.name) or sha256_of(path)
            files.append(SourceFile(spec.name, path, sha, len(raw)))
        mapped = _map_file(mapping, spec, raw, key, row_ids)
        for table, frame in mapped.frames.items():
            pieces[table].append(frame)
        found.append(mapped.quarantine)
        sources.update(mapped.sources)
        deferred.update(mapped.deferred)
    frames = {t: _concat(t, parts) for t, parts in pieces.items()}
    for (table, column), (base, unit) in deferred.items():
        frames[table][column] = _offset_from_other_table(frames[table], column, frames[base[0]],
                                                         base[1], unit)
    found = [q for q in found if len(q)]
    quarantine = pd.concat(found, ignore_index=True) if found else quarantine_frame()
    return MappedCenter(mapping.center, mapping, frames, quarantine, files, sources)


def _unmentioned_files(mapping: CenterMapping, folder: Path) -> list[CenterError]:
    """Every file in the center's folder is mapped or listed under ``ignore_files:``."""
    if not folder.is_dir():
        return []
    known = {f.name for f in mapping.files} | set(mapping.ignore_files)
    return [CenterError(
        mapping.center, "a file in the center's folder is neither mapped nor ignored",
        file=str(path),
        hint=f"Map it with a `files:` entry in mappings/{mapping.path.name}, or list it under "
             f"`ignore_files: [{path.name}]` there if it holds nothing the study needs. (An "
             "unmentioned file is never skipped silently: it may hold data the study needs.)")
        for path in sorted(folder.iterdir())
        if path.is_file() and path.name not in known and not path.name.startswith(".")]


def _check_columns(mapping: CenterMapping, spec: FileSpec, raw: pd.DataFrame,
                   path: Path) -> list[CenterError]:
    """The export's columns must be exactly those declared (optional ones may be absent)."""
    present = [c for c in raw.columns if c != SOURCE_ROW]
    declared = [*spec.columns, *spec.wide_adverse_events]
    where = f"mappings/{mapping.path.name}, the files entry for {spec.name}"
    problems = []
    missing = [c for c in declared if c not in present
               and not (c in spec.columns and spec.columns[c].optional)]
    unnamed = [c for c in present if c.startswith("Unnamed:")]
    if missing and len(unnamed) >= len(present) / 2:
        problems.append(CenterError(
            mapping.center, "the header is not on the row the mapping says "
            f"(row {spec.header_row}): most columns have no name", file=str(path),
            hint=f"If the export has a title block above the header, set `header_row:` in {where} "
                 "to the row holding the column names (`harmonise profile` finds it)."))
        return problems
    for column in missing:
        close = difflib.get_close_matches(column, present, n=1)
        maybe = f"The export has '{close[0]}': was the column renamed? " if close else ""
        problems.append(CenterError(
            mapping.center, "the export lacks a column the mapping expects",
            file=str(path), column=column,
            hint=f"{maybe}Fix the export, or update {where} (mark the column `optional: true` "
                 "if the hospital may leave it out)."))
    for column in present:
        if column not in declared:
            problems.append(CenterError(
                mapping.center, "the export has a column the mapping does not declare",
                file=str(path), column=column,
                hint=f"Declare '{column}' in {where}: map it (`to: table.column`), mark it "
                     "`{identifier: drop}` if it names or identifies a patient, or `drop`. "
                     "Nothing is loaded until every column is declared, so that a new identifier "
                     "column can never slip through."))
    return problems


@dataclass
class _MappedFile:
    frames: dict[str, pd.DataFrame]
    quarantine: pd.DataFrame
    sources: dict[tuple[str, str], str]
    #: ``{(table, column): ((base table, base column), unit)}``: offsets whose base date
    #: lives in another file of the center.
    deferred: dict = field(default_factory=dict)


def _map_file(mapping: CenterMapping, spec: FileSpec, raw: pd.DataFrame, key: bytes,
              row_ids) -> _MappedFile:
    tables = ["patient", "treatment", "outcome"] if spec.role == "patients" else ["adverse_event"]
    base = pd.DataFrame({"_source_file": spec.name, "_source_row": raw[SOURCE_ROW]})
    id_column = next(c for c in spec.columns.values() if c.action == "pseudonymise")
    base["patient_key"] = pseudonymise(mapping.center, raw[id_column.source], key)
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
        distinct, spread = _by_value(raw[col.source])
        text = cleaned = transforms.clean_text(distinct)
        raw_text = spread(cleaned)
        if col.action == "split_regimen":
            result, found = transforms.split_regimen(text, col, mapping_file)
            for target, series in result.items():
                values[("treatment", target)] = spread(series)
                sources[("treatment", target)] = col.source
            problems += [(col, "treatment", "pd1_agent", _spread(p, spread), raw_text) for p in found]
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
        ids[table] = pd.Series([next(row_ids) for _ in range(len(raw))], index=raw.index)
        frame = base.assign(_row_id=ids[table])
        for column in mapped_columns(table):
            frame[column] = values.get((table, column), pd.Series(None, index=raw.index, dtype=object))
        frames[table] = frame

    records, record_rows = [], []
    for col, table, column, problem, text in problems:
        table = table if table in ids else tables[0]
        for idx in problem.mask[problem.mask.fillna(False).astype(bool)].index:
            value = None if text is None or _sensitive(col) else shown_value(text.loc[idx])
            records.append(QuarantineRecord(
                table_name=table, rule=problem.rule, column_name=column, source_column=col.source,
                failed_value=value, inputs=problem.inputs))
            record_rows.append(ids[table].loc[idx])
    if spec.wide_adverse_events:
        frames["adverse_event"], wide_records, wide_rows = _melt_wide(spec, raw, base, row_ids)
        records += wide_records
        record_rows += wide_rows
        for source in spec.wide_adverse_events:
            sources.setdefault(("adverse_event", "grade"), source)
    return _MappedFile(frames, quarantine_frame(records, record_rows), sources, deferred)


def _by_value(cells: pd.Series):
    """The distinct cells of a column (and one missing), and a function spreading a result
    computed over them back onto the column's rows."""
    codes, uniques = pd.factorize(cells)
    distinct = pd.Series([*uniques, None], dtype=object)
    where = np.where(codes < 0, len(uniques), codes)

    def spread(result: pd.Series) -> pd.Series:
        return result.iloc[where].set_axis(cells.index)
    return distinct, spread


def _spread(problem: transforms.Problem, spread) -> transforms.Problem:
    return replace(problem, mask=spread(problem.mask))


def _melt_wide(spec: FileSpec, raw: pd.DataFrame, base: pd.DataFrame, row_ids
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


def _sensitive(col: ColumnSpec) -> bool:
    """A cell never copied into a quarantine record: identifiers and birth dates."""
    return col.action in ("pseudonymise", "identifier") or bool(
        col.derive and CELL_DERIVATIONS[col.derive].sensitive)


def _as_number(col: ColumnSpec) -> ColumnSpec:
    return replace(col, type="number")


def _offset_from_other_table(frame: pd.DataFrame, column: str, base_frame: pd.DataFrame,
                             base_column: str, unit: str) -> pd.Series:
    """Offsets in ``frame[column]`` -> dates, from the patient's ``base_column`` in another file.

    The base is the patient's earliest value (e.g. the first course's start date); a
    patient missing from the other file gets no date (validation reports the orphan).
    """
    base = base_frame.groupby("patient_key")[base_column].min()
    return transforms.offset_dates(frame[column], frame["patient_key"].map(base), unit)


def _concat(table: str, parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=["_source_file", "_source_row", "patient_key", "center_id",
                                     "_row_id", *mapped_columns(table)])
    return pd.concat(parts, ignore_index=True)
