"""Reading an unknown export as the mapping engine will: file kind, encoding, delimiter, sheets.

The first step of profiling (``onboarding.profile``): nothing here looks at what the
cells mean, only at how the bytes become rows of text cells.
"""
from __future__ import annotations

import codecs
import csv
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from harmonise.mappings.errors import CenterError
from harmonise.mappings.readers import SOURCE_ROW, read_export
from harmonise.mappings.spec import FileSpec
from harmonise.onboarding.errors import OnboardingError


CSV_SUFFIXES = {".csv", ".txt", ".tsv", ".tab", ".dat"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
#: Bytes of a text file given to charset-normalizer (the whole file is then decoded strictly).
DETECT_SAMPLE_BYTES = 1 << 20

# -- encodings -------------------------------------------------------------------------------
#: Encodings tried for a file that is not UTF-8, in order of preference.
#: gb18030 is a superset of GBK and GB2312; cp1252 of latin-1's printable characters.
LEGACY_ENCODINGS = ("gb18030", "big5", "cp1252", "latin-1")
ENCODING_NOTES = {
    "utf-8": "UTF-8",
    "utf-16": "UTF-16 (byte-order mark)",
    "gb18030": "Simplified Chinese GB18030 (also reads GBK and GB2312 files)",
    "big5": "Traditional Chinese Big5",
    "cp1252": "Western European cp1252 (Windows)",
    "latin-1": "Western European latin-1",
}
#: charset-normalizer's names -> the encoding to declare in the mapping.
_FAMILY = {"gb18030": "gb18030", "gbk": "gb18030", "gb2312": "gb18030", "hz": "gb18030",
           "big5": "big5", "big5hkscs": "big5", "cp950": "big5",
           "cp1252": "cp1252", "windows-1252": "cp1252", "latin_1": "latin-1",
           "iso8859_1": "latin-1", "latin-1": "latin-1"}

DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}


@dataclass
class SheetInfo:
    name: str
    rows: int
    columns: int



# -- reading ---------------------------------------------------------------------------------
def detect_encoding(raw: bytes) -> tuple[str, str]:
    """``(encoding to declare, how it was recognised)`` of a text file's bytes.

    UTF-8 (with or without byte-order mark) is preferred whenever the bytes are valid
    UTF-8; otherwise charset-normalizer chooses among ``LEGACY_ENCODINGS`` and the choice
    is confirmed by decoding the whole file strictly (falling back in order).
    """
    if raw.startswith(codecs.BOM_UTF8):
        return "utf-8", "UTF-8 with a byte-order mark"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", ENCODING_NOTES["utf-16"]
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8", "plain ASCII, read as UTF-8" if raw.isascii() else "valid UTF-8"
    import charset_normalizer

    order = list(LEGACY_ENCODINGS)
    best = charset_normalizer.from_bytes(
        raw[:DETECT_SAMPLE_BYTES], cp_isolation=["gb18030", "big5", "cp1252", "latin_1"]).best()
    guess = _FAMILY.get(best.encoding) if best is not None else None
    if guess == "big5" and _only_gb2312_characters(raw):
        guess = "gb18030"  # short GBK text also decodes as Big5; mainland exports are GBK far more often
    if guess:
        order.remove(guess)
        order.insert(0, guess)
    for name in order:
        try:
            raw.decode(name)
        except UnicodeDecodeError:
            continue
        how = "detected by charset-normalizer" if name == guess else "the first encoding that decodes every byte"
        return name, f"{ENCODING_NOTES[name]}; {how}"
    raise AssertionError("latin-1 decodes any bytes")  # pragma: no cover


def _only_gb2312_characters(raw: bytes) -> bool:
    """Whether the bytes read as GBK give Chinese characters of the common GB2312 set only.

    Big5 text read as GBK gives characters outside GB2312 (Big5's second bytes 0x40-0x7E
    are not GB2312's), so this tells the two apart where a short sample cannot.
    """
    try:
        text = raw.decode("gb18030")
    except UnicodeDecodeError:
        return False
    han = [ch for ch in text if ord(ch) > 0x7F]
    if not han:
        return False
    try:
        "".join(han).encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def sniff_delimiter(text: str) -> str:
    """The separator that splits the first lines into the same number (>= 2) of fields.

    Among ``DELIMITERS``, the most consistent one wins, then the one giving more fields;
    a file with a single column gets ``","``.
    """
    lines = [line for line in text.splitlines()[:50] if line.strip()]
    best, best_score = ",", None
    for delimiter in DELIMITERS:
        widths = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        if not widths or widths[0] < 2:
            continue
        consistent = sum(w == widths[0] for w in widths) / len(widths)
        score = (consistent >= 0.9, consistent, widths[0])
        if best_score is None or score > best_score:
            best, best_score = delimiter, score
    return best


def _file_kind(path: Path) -> str:
    suffix = path.suffix.lower()
    with path.open("rb") as fh:
        head = fh.read(4096)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise OnboardingError("this is an old-style Excel file (.xls), which cannot be read", file=path,
                          hint="Open it in Excel or WPS and save it as .xlsx (or as CSV), then run again.")
    if suffix in EXCEL_SUFFIXES or (head.startswith(b"PK\x03\x04") and suffix not in CSV_SUFFIXES):
        return "excel"
    if suffix == ".xls":
        raise OnboardingError("a .xls file that is not an Excel workbook", file=path,
                          hint="Save the export as .xlsx or as CSV.")
    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise OnboardingError("this does not look like a CSV text file or an Excel .xlsx workbook",
                          file=path, hint="Export the data as CSV or .xlsx.")
    return "csv"


def _spec(path: Path, fmt: str, *, encoding: str = "utf-8", delimiter: str = ",",
          sheet: str | None = None, header_row: int = 1) -> FileSpec:
    return FileSpec(role="patients", name=path.name, format=fmt, encoding=encoding,
                    delimiter=delimiter, sheet=sheet, columns={}, header_row=header_row)


def _read(path: Path, spec: FileSpec) -> pd.DataFrame:
    """The file as the mapping engine reads it (text cells), or an ``OnboardingError``."""
    try:
        frame = read_export("(profile)", path, spec)
    except CenterError as err:
        raise OnboardingError(err.problem, file=path, hint=err.hint) from err
    return frame.drop(columns=[SOURCE_ROW])


def sheet_names(path: Path) -> list[SheetInfo]:
    """Every sheet of a workbook with its size (header row excluded from ``rows``)."""
    import openpyxl
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise OnboardingError(f"the workbook cannot be opened ({type(exc).__name__}: {exc})", file=path,
                          hint="Check that the file is complete (not still being copied) and opens "
                               "in Excel; save it again as .xlsx if needed.") from exc
    try:
        return [SheetInfo(ws.title, max((ws.max_row or 1) - 1, 0), ws.max_column or 0)
                for ws in book.worksheets]
    finally:
        book.close()

