"""Apply a center's mapping to its export: text files in, canonical frames out.

``map_center`` reads each declared file, refuses it when its columns differ from the
mapping (a structural problem: the center fails alone), pseudonymises the patient
identifier, drops every other identifier unread, runs each column's transforms and
assembles one frame per canonical table. Cells that cannot be converted are returned
as ``quarantine`` records and the cell is left empty; validation decides
what happens to the row.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import count
from pathlib import Path

import pandas as pd

from harmonise.mappings import transforms
from harmonise.mappings.errors import CenterError, StructuralProblems
from harmonise.mappings.inbox import center_inbox, export_path  # noqa: F401 (re-exported)
from harmonise.mappings.map_file import map_file
from harmonise.mappings.model import CenterMapping
from harmonise.mappings.pseudonym import Pseudonyms
from harmonise.mappings.readers import read_export, sha256_of
from harmonise.mappings.summaries import summarise
from harmonise.mappings.structure import check_columns, unmentioned_files
from harmonise.schemas.canonical import TABLES, mapped_columns
from harmonise.schemas.quarantine import FixIn, quarantine_frame


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
    structural = unmentioned_files(mapping, folder)
    raws, pseudonyms = [], Pseudonyms(mapping.center, key)
    for spec in mapping.files:  # read and check every file first: report every structural problem
        path = folder / spec.name
        try:
            path = export_path(mapping.center, inbox, spec.name, allow_symlinks)
            raw = read_export(mapping.center, path, spec)
        except CenterError as err:
            structural.append(err)
            continue
        problems = check_columns(mapping, spec, raw, path)
        if spec.role == "patients" and raw.empty:
            problems.append(CenterError(
                mapping.center, "the patients file has a header but no rows", file=str(path),
                hint="A half-written or empty export would remove this center's patients from the "
                     "warehouse, so nothing was changed. Check the export and send it again.", fix=(FixIn.EXPORT,)))
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
        mapped = map_file(mapping, spec, raw, pseudonyms, row_ids)
        for table, frame in mapped.frames.items():
            pieces[table].append(frame)
        found.append(mapped.quarantine)
        sources.update(mapped.sources)
        deferred.update(mapped.deferred)
    frames = {t: _concat(t, parts) for t, parts in pieces.items()}
    for (table, column), (base, unit) in deferred.items():
        frames[table][column] = _offset_from_other_table(frames[table], column, frames[base[0]],
                                                         base[1], unit)
    found.append(_summarised(mapping, frames, sources))
    found = [q for q in found if len(q)]
    quarantine = pd.concat(found, ignore_index=True) if found else quarantine_frame()
    return MappedCenter(mapping.center, mapping, frames, quarantine, files, sources)


def _summarised(mapping: CenterMapping, frames: dict[str, pd.DataFrame],
                sources: dict[tuple[str, str], str]) -> pd.DataFrame:
    """Fill the outcome columns summarised from assessment rows (``mappings.summaries``)."""
    specs = [s for f in mapping.files for s in f.summaries]
    if not specs:
        return quarantine_frame()
    done = summarise(frames["outcome"], frames["assessment"], specs, sources,
                     f"mappings/{mapping.path.name}")
    frames["outcome"] = done.outcome
    sources.update(done.sources)
    return quarantine_frame(done.records, done.row_ids)


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
