"""Structural checks of a center's export against its mapping (a failure fails the center alone).

Every file in the center's folder is mapped or ignored, and each export's columns are
exactly those its mapping declares.
"""
from __future__ import annotations

import difflib
from pathlib import Path

import pandas as pd

from harmonise.mappings.errors import CenterError
from harmonise.mappings.model import CenterMapping, FileSpec
from harmonise.mappings.readers import SOURCE_ROW
from harmonise.schemas.quarantine import FixIn


def unmentioned_files(mapping: CenterMapping, folder: Path) -> list[CenterError]:
    """Every file in the center's folder is mapped or listed under ``ignore_files:``."""
    if not folder.is_dir():
        return []
    known = {f.name for f in mapping.files} | set(mapping.ignore_files)
    return [CenterError(
        mapping.center, "a file in the center's folder is neither mapped nor ignored",
        file=str(path),
        hint=f"Map it with a `files:` entry in mappings/{mapping.path.name}, or list it under "
             f"`ignore_files: [{path.name}]` there if it holds nothing the study needs. (An "
             "unmentioned file is never skipped silently: it may hold data the study needs.)",
        fix=(FixIn.MAPPING,))
        for path in sorted(folder.iterdir())
        if path.is_file() and path.name not in known and not path.name.startswith(".")]


def check_columns(mapping: CenterMapping, spec: FileSpec, raw: pd.DataFrame,
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
                 "to the row holding the column names (`harmonise profile` finds it).",
            fix=(FixIn.MAPPING,)))
        return problems
    for column in missing:
        close = difflib.get_close_matches(column, present, n=1)
        maybe = f"The export has '{close[0]}': was the column renamed? " if close else ""
        problems.append(CenterError(
            mapping.center, "the export lacks a column the mapping expects",
            file=str(path), column=column,
            hint=f"{maybe}Fix the export, or update {where} (mark the column `optional: true` "
                 "if the hospital may leave it out).", fix=(FixIn.EXPORT, FixIn.MAPPING)))
    for column in present:
        if column not in declared:
            problems.append(CenterError(
                mapping.center, "the export has a column the mapping does not declare",
                file=str(path), column=column,
                hint=f"Declare '{column}' in {where}: map it (`to: table.column`), mark it "
                     "`{identifier: drop}` if it names or identifies a patient, or `drop`. "
                     "Nothing is loaded until every column is declared, so that a new identifier "
                     "column can never slip through.", fix=(FixIn.MAPPING,)))
    return problems
