"""Profile a hospital export before mapping it: what each column holds (the statistics step).

``profile(path)`` reads a CSV file (any delimiter, Chinese or Western encoding: both are
detected, see ``onboarding.reading``) or an Excel workbook (every sheet) exactly as the
mapping engine will read it, and describes each column: inferred type, share of empty
cells, number of distinct values, the most frequent values, the date formats that parse
every value, the decimal mark, and whether the column looks like a direct identifier
(``onboarding.identifiers``). The values of identifier columns are never kept.

Profile -> draft follows pandera's statistics -> inference -> writing split:
``onboarding.profile`` measures, ``onboarding.inference`` decides, ``onboarding.writing``
writes the YAML.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from harmonise.mappings.transforms import EXCEL_SERIAL, excel_serial_dates
from harmonise.mappings.vocabulary import normalise, shared
from harmonise.onboarding import layout
from harmonise.onboarding.errors import OnboardingError
from harmonise.onboarding.id_values import LINK_SHARE, digests
from harmonise.onboarding.identifiers import (IDENTIFIER_LABELS, header_has, identifier_kind,
                                              looks_like_free_text)
from harmonise.onboarding.reading import (SheetInfo, _file_kind, _read, _spec, detect_encoding,
                                          sheet_names, sniff_delimiter)


# -- types and dates ---------------------------------------------------------------------------
#: strptime patterns tried on every column; each reported one parses every non-empty value.
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%d.%m.%Y", "%d/%m/%Y",
                "%m/%d/%Y", "%d-%m-%Y", "%d-%b-%Y", "%d %b %Y", "%d-%b-%y", "%b %d, %Y",
                "%Y%m%d", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S")
#: Only these formats are tried on plain whole numbers (20210315, 44270).
NUMERIC_DATE_FORMATS = ("%Y%m%d", EXCEL_SERIAL)
PLAUSIBLE_YEARS = (1900, 2100)
#: Excel day numbers of 1970-01-01 and 2100-01-01: a whole number in between may be a date.
EXCEL_SERIAL_RANGE = (25569, 73051)
#: Header words that say a column holds dates (Latin words match whole words).
DATE_HEADER_WORDS = ("date", "dt", "start", "end", "stop", "onset", "death", "followup",
                     "follow up", "lfu", "日期", "时间", "时间点")
INTEGER = re.compile(r"[+-]?\d+")
NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
#: Numbers with a decimal comma (41,5); whole numbers among them (63) count too.
COMMA_DECIMAL = re.compile(r"[+-]?\d+(?:,\d+)?")


#: Distinct values a date format is first tried on; only if all parse is it tried on the rest.
DATE_PROBE = 200


TOP_N = 5


# -- the profile ------------------------------------------------------------------------------
@dataclass
class ColumnProfile:
    """What one column holds. Identifier and free-text columns keep no values at all."""

    name: str
    type: str                                   # integer | number | date | boolean-like | text | empty
    rows: int
    nulls: int
    distinct: int
    top: list[tuple[str, int]] = field(default_factory=list)
    date_formats: tuple[str, ...] = ()
    identifier: str | None = None               # national_id | phone | email | address | mrn | name
    hidden: str | None = None                   # why the values are not shown
    decimal: str = "."
    #: every value with its count (empty when hidden): for matching vocabularies
    counts: dict[str, int] = field(default_factory=dict, repr=False)
    #: keyed digests of the distinct values (never the values): to find codes linking two tables
    digests: frozenset[str] = field(default_factory=frozenset, repr=False)

    @property
    def null_rate(self) -> float:
        return self.nulls / self.rows if self.rows else 0.0

    @property
    def non_null(self) -> int:
        return self.rows - self.nulls


@dataclass
class TableProfile:
    """One CSV file or one sheet of a workbook."""

    sheet: str | None
    rows: int
    columns: list[ColumnProfile]
    #: the spreadsheet row of the header (> 1 when a title block sits above it)
    header_row: int = 1
    #: rows at the end that are a footer (a summary or a note), left out of the profile
    footer_rows: int = 0
    #: ``{column: cells}`` holding a formula whose result was never saved (read as empty)
    unsaved_formulas: dict[str, int] = field(default_factory=dict)

    def column(self, name: str) -> ColumnProfile:
        return next(c for c in self.columns if c.name == name)

    @property
    def identifiers(self) -> list[ColumnProfile]:
        return [c for c in self.columns if c.identifier]




@dataclass
class Profile:
    """A whole export file: how to read it, and one ``TableProfile`` per file or sheet."""

    path: Path
    format: str                                 # csv | excel
    tables: list[TableProfile]
    encoding: str | None = None
    encoding_note: str | None = None
    delimiter: str | None = None
    sheets: list[SheetInfo] = field(default_factory=list)



def profile(export: Path | str, *, sheet: str | None = None) -> Profile:
    """Profile one export file (CSV or Excel; for a workbook every sheet, or only ``sheet``)."""
    path = Path(export)
    if not path.is_file():
        folder = path.parent
        present = sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
        raise OnboardingError("no such export file", file=path,
                          hint=f"Check the path. Files in {folder}: {', '.join(present) or 'none'}."
                          if folder.is_dir() else f"The folder {folder} does not exist either.")
    if path.stat().st_size == 0:
        raise OnboardingError("the file is empty", file=path, hint="Export the data again.")
    kind = _file_kind(path)
    if kind == "excel":
        sheets = sheet_names(path)
        names = [s.name for s in sheets]
        if sheet is not None and sheet not in names:
            import difflib
            close = difflib.get_close_matches(sheet, names, n=1)
            raise OnboardingError(f"the workbook has no sheet '{sheet}'", file=path,
                              hint=(f"Did you mean '{close[0]}'? " if close else "")
                              + f"Sheets: {', '.join(names)}.")
        tables = []
        for info in sheets:
            if sheet is not None and info.name != sheet:
                continue
            header = layout.header_row_of(layout.excel_rows(path, info.name))
            frame = _read(path, _spec(path, "excel", sheet=info.name, header_row=header))
            info.rows, info.columns = len(frame), len(frame.columns)
            if len(frame.columns) or sheet is not None:
                table = _table(frame, info.name, header)
                table.unsaved_formulas = layout.unsaved_formulas(path, info.name, header)
                tables.append(table)
        mark_linking_codes(tables)
        return Profile(path=path, format="excel", tables=tables, sheets=sheets)
    raw = path.read_bytes()
    encoding, note = detect_encoding(raw)
    text = raw.decode("utf-8-sig" if encoding == "utf-8" else encoding)
    header = layout.header_row_of(layout.csv_rows(text, sniff_delimiter(text)))
    lines = text.splitlines()
    delimiter = sniff_delimiter("\n".join(lines[header - 1:]))
    header = layout.header_row_of(layout.csv_rows(text, delimiter))
    frame = _read(path, _spec(path, "csv", encoding=encoding, delimiter=delimiter, header_row=header))
    return Profile(path=path, format="csv", tables=[_table(frame, None, header)], encoding=encoding,
                   encoding_note=note, delimiter=delimiter)


def _table(frame: pd.DataFrame, sheet: str | None, header_row: int) -> TableProfile:
    """Profile a table without its footer rows (they would look like data)."""
    footer = layout.footer_rows(frame)
    table = profile_frame(frame.iloc[:len(frame) - footer] if footer else frame, sheet=sheet)
    table.header_row, table.footer_rows = header_row, footer
    return table


# -- columns ---------------------------------------------------------------------------------
def profile_frame(frame: pd.DataFrame, sheet: str | None = None) -> TableProfile:
    """Profile every column of a frame of text cells (as ``mappings.readers`` returns them)."""
    return TableProfile(sheet=sheet, rows=len(frame),
                        columns=[profile_column(str(name), frame[name]) for name in frame.columns])


def profile_column(name: str, cells: pd.Series) -> ColumnProfile:
    """Type, emptiness, distinct values, top values, date formats and identifier kind."""
    text = cells.astype("string").str.strip()
    text = text.mask(text == "").dropna()
    counts = text.value_counts()
    counts = counts.sort_index(kind="stable").sort_values(ascending=False, kind="stable")
    distinct = pd.Series(counts.index, dtype="string")
    kind, formats, decimal = infer_type(distinct, name)
    identifier = identifier_kind(name, text)
    hidden = None
    if identifier:
        hidden = f"looks like {IDENTIFIER_LABELS[identifier]}"
    elif kind == "text" and looks_like_free_text(distinct, len(text)):
        hidden = "free text (may name a person)"
    shown = {} if hidden else {str(k): int(v) for k, v in counts.items()}
    return ColumnProfile(
        name=name, type=kind, rows=len(cells), nulls=int(len(cells) - len(text)),
        distinct=int(len(counts)), top=list(shown.items())[:TOP_N], date_formats=formats,
        identifier=identifier, hidden=hidden, decimal=decimal, counts=shown,
        digests=digests(distinct) if kind in ("text", "integer") else frozenset())


def mark_linking_codes(tables: list[TableProfile]) -> None:
    """Columns of two tables holding the same near-unique codes identify patients in both.

    (A record number repeated once per adverse event is not distinct in its own sheet; that
    it holds the patients sheet's record numbers is what gives it away.) Their values are
    dropped from the profile.
    """
    near_unique = [(t, c) for t in tables for c in t.columns
                   if c.digests and c.non_null >= 5 and c.distinct >= 0.95 * c.non_null]
    for table, key in near_unique:
        for other in tables:
            if other is table:
                continue
            for column in other.columns:
                if column.identifier or not column.digests or column.distinct < 2:
                    continue
                if len(column.digests & key.digests) >= LINK_SHARE * len(column.digests):
                    for col in (key, column):
                        col.identifier = col.identifier or "mrn"
                        col.hidden = "links two tables: a patient identifier"
                        col.counts, col.top = {}, []



def header_says_date(header: str) -> bool:
    return any(header_has(header, w) for w in DATE_HEADER_WORDS)


def date_formats_of(values: pd.Series) -> tuple[str, ...]:
    """Every format of ``DATE_FORMATS`` (or Excel day numbers) that parses all the values."""
    if values.empty:
        return ()
    text = values.astype(str)
    numeric = bool(text.str.fullmatch(INTEGER).all())
    found = []
    for fmt in (NUMERIC_DATE_FORMATS if numeric else DATE_FORMATS):
        if fmt == EXCEL_SERIAL:
            number = pd.to_numeric(text, errors="coerce")
            if number.between(*EXCEL_SERIAL_RANGE).all():
                found.append(fmt)
            continue
        if not _all_dates(text.head(DATE_PROBE), fmt):
            continue
        if len(text) <= DATE_PROBE or _all_dates(text, fmt):
            found.append(fmt)
    return tuple(found)


def _all_dates(text: pd.Series, fmt: str) -> bool:
    parsed = pd.to_datetime(text, format=fmt, errors="coerce")
    return bool(parsed.notna().all() and parsed.dt.year.between(*PLAUSIBLE_YEARS).all())


def infer_type(distinct: pd.Series, header: str = "") -> tuple[str, tuple[str, ...], str]:
    """``(type, date formats, decimal mark)`` of a column from its distinct non-empty values.

    Whole numbers stay ``integer`` unless the header names a date and a numeric date
    format (``%Y%m%d``, Excel day numbers) fits; 0/1 columns are integers, Y/N or 是/否
    columns ``boolean-like``.
    """
    if distinct.empty:
        return "empty", (), "."
    text = distinct.astype(str)
    formats = date_formats_of(text)
    if text.str.fullmatch(INTEGER).all():
        if formats and header_says_date(header):
            return "date", formats, "."
        return "integer", formats, "."
    booleans = set(shared("boolean"))
    keys = set(text.map(normalise))
    if keys <= booleans and len(keys) <= 3:
        return "boolean-like", (), "."
    if text.str.fullmatch(NUMBER).all():
        return "number", (), "."
    if text.str.fullmatch(COMMA_DECIMAL).all():
        return "number", (), ","
    if formats:
        return "date", formats, "."
    return "text", (), "."


def excel_serial_example(value: str) -> str:
    """``'44270'`` -> ``'2021-03-15'`` (for explaining an Excel day number)."""
    out = excel_serial_dates(pd.Series([value]))
    return "" if out.isna().iloc[0] else str(out.iloc[0].date())

