"""Read one export file into a frame of text cells, exactly as the hospital wrote them.

Every cell is read as text (no type guessing); empty cells become missing. Each row
keeps ``_source_row``: the line a data manager sees in a spreadsheet program
(the header is row 1 unless ``header_row:`` says otherwise, so the first patient is row 2).
Rows above the header (a title block), and footer rows (``skip_footer:`` or a ``skip_rows:``
rule), are not data: they are dropped here and counted in ``frame.attrs["skipped_rows"]``.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pandas as pd

from harmonise.mappings.errors import CenterError
from harmonise.mappings.model import FileSpec
from harmonise.schemas.quarantine import FixIn

SOURCE_ROW = "_source_row"


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks (memory stays flat for big exports)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_export(center: str, path: Path, spec: FileSpec) -> pd.DataFrame:
    """The file's rows as text, plus ``_source_row``; raise ``CenterError`` if unreadable."""
    if not path.is_file():
        present = sorted(p.name for p in path.parent.glob("*")) if path.parent.is_dir() else []
        raise CenterError(center, "the export file is missing", file=str(path),
                          hint=f"Put the export at {path} (files there now: "
                               f"{', '.join(present) or 'none'}), or fix `name:` in the mapping.", fix=(FixIn.EXPORT, FixIn.MAPPING))
    try:
        frame = _read_excel(path, spec) if spec.format == "excel" else _read_csv(path, spec)
    except UnicodeDecodeError as exc:
        raise CenterError(center, f"the file is not readable as {spec.encoding} "
                                  f"(byte {exc.start} is invalid)", file=str(path),
                          hint="Export the file again in the declared encoding, or set "
                               "`encoding:` in the mapping (e.g. gbk, gb18030, utf-8).", fix=(FixIn.EXPORT, FixIn.MAPPING)) from exc
    except OSError:
        raise  # possibly transient (file still being copied, network share): the flow retries
    except Exception as exc:  # any parser's complaint means: this file cannot be read as declared
        raise CenterError(center, f"the file cannot be read: {_first_line(exc)}", file=str(path),
                          hint="Open it in a spreadsheet program to check it is complete, and that "
                               "`format:`, `delimiter:` and `sheet:` in the mapping match it.", fix=(FixIn.EXPORT, FixIn.MAPPING)) from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    first = spec.header_row + 1
    frame[SOURCE_ROW] = range(first, len(frame) + first)
    return skip_rows(_without_blank_rows(frame), spec)


def _without_blank_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows holding at least one cell. Only a row whose first cell is empty can be
    blank, so only those rows are looked at whole."""
    cells = frame.columns.drop(SOURCE_ROW)
    if cells.empty:
        return frame
    maybe = frame[cells[0]].isna().to_numpy()
    if not maybe.any():
        return frame
    blank = maybe.copy()
    blank[maybe] = frame.loc[maybe, cells].isna().all(axis=1).to_numpy()
    return frame[~blank]


def skip_rows(frame: pd.DataFrame, spec: FileSpec) -> pd.DataFrame:
    """Drop footer rows: the last ``skip_footer`` rows, then rows matching a ``skip_rows`` rule."""
    before = len(frame)
    if spec.skip_footer:
        frame = frame.iloc[:max(len(frame) - spec.skip_footer, 0)]
    for rule in spec.skip_rows:
        if rule.column not in frame.columns:
            continue  # the missing column is reported by the column check
        cells = frame[rule.column].astype("string").str.strip()
        if rule.empty:
            hit = cells.isna() | (cells == "")
        elif rule.equals is not None:
            hit = cells.str.casefold() == rule.equals.strip().casefold()
        else:
            hit = cells.str.casefold().str.startswith(rule.starts_with.strip().casefold())
        frame = frame[~hit.fillna(False).astype(bool)]
    frame = frame.reset_index(drop=True)
    frame.attrs["skipped_rows"] = before - len(frame)
    return frame


def _read_csv(path: Path, spec: FileSpec) -> pd.DataFrame:
    encoding = "utf-8-sig" if spec.encoding.lower().replace("_", "-") in ("utf-8", "utf8") \
        else spec.encoding
    return pd.read_csv(path, sep=spec.delimiter, encoding=encoding, dtype=str,
                       keep_default_na=False, na_values=[""], engine="c", on_bad_lines="error",
                       skiprows=spec.header_row - 1, skip_blank_lines=False)


def _read_excel(path: Path, spec: FileSpec) -> pd.DataFrame:
    frame = pd.read_excel(path, sheet_name=spec.sheet if spec.sheet is not None else 0,
                          dtype=object, engine="openpyxl", header=spec.header_row - 1)
    return frame.map(_excel_cell).astype(object)


def _excel_cell(value):
    """Excel cells as text; real date cells stay dates (ISO text) so no format is guessed."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, (dt.datetime, pd.Timestamp)):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    return text if text.strip() else None


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
