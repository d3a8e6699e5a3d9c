"""Profile a hospital export before mapping it: what each column holds, and what identifies people.

``profile(path)`` reads a CSV file (any delimiter, Chinese or Western encoding: both are
detected and reported) or an Excel workbook (every sheet) exactly as the mapping engine
will read it, and describes each column: inferred type, share of empty cells, number of
distinct values, the most frequent values, the date formats that parse every value, and
whether the column looks like a direct identifier (name, record number, national ID
number, phone, e-mail, address). The values of identifier columns are never kept in the
profile, never shown, and never written into a draft mapping.

The detection rules are data (``IDENTIFIER_HEADERS``, the patterns below) and small
functions (``header_identifier_kind``, ``identifier_kind``, ``infer_type``, ...), each
tested on its own. ``render_profile`` prints a profile with rich for a data manager.
"""
from __future__ import annotations

import codecs
import csv
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pandas as pd

from harmonise.mappings.errors import CenterError
from harmonise.mappings.readers import SOURCE_ROW, read_export
from harmonise.mappings.spec import FileSpec
from harmonise.mappings.transforms import EXCEL_SERIAL, excel_serial_dates
from harmonise.mappings.vocabulary import available as available_vocabularies
from harmonise.mappings.vocabulary import normalise, shared

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
COMMA_DECIMAL = re.compile(r"[+-]?\d+,\d+")

# -- direct identifiers -----------------------------------------------------------------------
#: Share of a column's non-empty values that must match a value pattern.
PATTERN_SHARE = 0.8
#: Distinct values / non-empty values above which a column is "mostly distinct".
MOSTLY_DISTINCT = 0.5
NATIONAL_ID = re.compile(r"\d{17}[\dXx]")                    # Chinese resident ID (18 characters)
MOBILE = re.compile(r"(?:\+?86[- ]?)?1[3-9]\d{9}")            # Chinese mobile: 1[3-9] + 9 digits
LANDLINE = re.compile(r"(?:\(0\d{2,3}\)|0\d{2,3}-?)[ ]?\d{7,8}(?:-\d{1,5})?")  # (0371)12345678, 010-12345678
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
HAN_NAME = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]{2,4}")  # 2-4 Chinese characters
RECORD_NUMBER = re.compile(r"(?=.*\d{3})[A-Za-z0-9][A-Za-z0-9_\-/]{2,23}")  # a code with digits
#: Header words that name each kind of direct identifier. Chinese words match anywhere in the
#: header, Latin words as whole words. Kinds are tried in this order (ID number before the
#: record number's "id", the record number's 编号 before the name's 患者).
IDENTIFIER_HEADERS: dict[str, tuple[str, ...]] = {
    "national_id": ("身份证", "证件号", "sfz", "sfzh", "id card", "idcard", "national id",
                    "id number", "id no", "citizen id", "resident id"),
    "phone": ("phone", "telephone", "tel", "mobile", "cell", "电话", "手机", "联系方式",
              "shouji", "lxdh"),
    "email": ("email", "e mail", "邮箱", "电子邮件"),
    "address": ("address", "addr", "地址", "住址", "籍贯", "dz", "residence"),
    "mrn": ("mrn", "record", "record no", "record number", "medical record", "id", "pid",
            "hospital number", "case no", "病案号", "住院号", "病历号", "门诊号", "登记号",
            "编号", "档案号", "bah", "zyh", "blh", "mzh"),
    "name": ("name", "patient name", "姓名", "患者", "病人", "xm", "xingming"),
}
IDENTIFIER_LABELS = {"national_id": "a national ID number", "phone": "a phone number",
                     "email": "an e-mail address", "address": "an address",
                     "mrn": "a medical record number", "name": "a person's name"}
#: Values examined to recognise an identifier in a big export (a fixed random sample).
IDENTIFIER_SAMPLE = 20_000
#: Distinct values a date format is first tried on; only if all parse is it tried on the rest.
DATE_PROBE = 200
#: Free text is not shown either: a comment may name a person.
FREE_TEXT_MIN_LENGTH = 25
TOP_N = 5


class OnboardingError(Exception):
    """An export that cannot be profiled, worded for the data manager (what, where, what to do)."""

    def __init__(self, problem: str, *, file: str | Path | None = None, hint: str | None = None):
        self.problem, self.file, self.hint = problem, None if file is None else str(file), hint
        super().__init__(self.message)

    @property
    def message(self) -> str:
        text = f"[file {self.file}] {self.problem}" if self.file else self.problem
        return f"{text}\n  Hint: {self.hint}" if self.hint else text


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

    def column(self, name: str) -> ColumnProfile:
        return next(c for c in self.columns if c.name == name)

    @property
    def identifiers(self) -> list[ColumnProfile]:
        return [c for c in self.columns if c.identifier]


@dataclass
class SheetInfo:
    name: str
    rows: int
    columns: int


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
          sheet: str | None = None) -> FileSpec:
    return FileSpec(role="patients", name=path.name, format=fmt, encoding=encoding,
                    delimiter=delimiter, sheet=sheet, columns={})


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
            frame = _read(path, _spec(path, "excel", sheet=info.name))
            info.rows, info.columns = len(frame), len(frame.columns)
            if len(frame.columns) or sheet is not None:
                tables.append(profile_frame(frame, sheet=info.name))
        return Profile(path=path, format="excel", tables=tables, sheets=sheets)
    raw = path.read_bytes()
    encoding, note = detect_encoding(raw)
    text = raw.decode("utf-8-sig" if encoding == "utf-8" else encoding)
    delimiter = sniff_delimiter(text)
    frame = _read(path, _spec(path, "csv", encoding=encoding, delimiter=delimiter))
    return Profile(path=path, format="csv", tables=[profile_frame(frame)], encoding=encoding,
                   encoding_note=note, delimiter=delimiter)


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
        identifier=identifier, hidden=hidden, decimal=decimal, counts=shown)


def _words(header: str) -> tuple[str, list[str]]:
    """A header's normalised text and its Latin words (``'PatientID'`` -> patient, id)."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", str(header))
    text = unicodedata.normalize("NFKC", spaced).casefold()
    return text, re.findall(r"[a-z]+|\d+", text)


def header_has(header: str, word: str) -> bool:
    """Whether a header contains ``word``: Chinese anywhere, Latin as whole word(s)."""
    text, tokens = _words(header)
    if re.search(r"[^\x00-\x7f]", word):
        return word in text
    wanted = re.findall(r"[a-z]+|\d+", word.casefold())
    if not wanted:
        return False
    n = len(wanted)
    if any(tokens[i:i + n] == wanted for i in range(len(tokens) - n + 1)):
        return True
    return "".join(tokens) == "".join(wanted)


def header_identifier_kind(header: str) -> str | None:
    """The identifier kind a header names (``'患者姓名'`` -> name, ``'Pt_ID'`` -> mrn), if any."""
    for kind, words in IDENTIFIER_HEADERS.items():
        if any(header_has(header, w) for w in words):
            return kind
    return None


def share_matching(values: pd.Series, pattern: re.Pattern) -> float:
    """Share of the (non-empty) values that match ``pattern`` entirely."""
    if values.empty:
        return 0.0
    return float(values.astype(str).str.fullmatch(pattern).mean())


def _in_a_vocabulary(distinct: pd.Series) -> bool:
    """Whether most values are spellings of some shared vocabulary (男, 乏力, 四肢: not names)."""
    keys = set(distinct.map(normalise))
    for name in available_vocabularies():
        if len(keys & set(shared(name))) >= max(1, len(keys) // 2):
            return True
    return False


def identifier_kind(header: str, values: pd.Series) -> str | None:
    """Which direct identifier a column holds, if any, from its values and its header.

    Values decide first (national ID numbers, phone numbers, e-mail addresses are
    unmistakable), then header words (for record numbers and names only when the
    values are mostly distinct or look the part), then Chinese names by their values.
    """
    values = values.dropna().astype(str)
    if len(values) > IDENTIFIER_SAMPLE:  # shares and distinctness from a fixed sample: fast on big files
        values = values.sample(IDENTIFIER_SAMPLE, random_state=0)
    if share_matching(values, NATIONAL_ID) >= PATTERN_SHARE:
        return "national_id"
    if share_matching(values, MOBILE) + share_matching(values, LANDLINE) >= PATTERN_SHARE:
        return "phone"
    if share_matching(values, EMAIL) >= PATTERN_SHARE:
        return "email"
    distinct = values.nunique() / len(values) if len(values) else 1.0
    kind = header_identifier_kind(header)
    if kind in ("national_id", "phone", "email", "address"):
        return kind
    if kind == "mrn" and (distinct >= MOSTLY_DISTINCT or share_matching(values, RECORD_NUMBER) >= PATTERN_SHARE):
        return "mrn"
    if kind == "name" and not (len(values) and _in_a_vocabulary(values.drop_duplicates())):
        return "name"  # "AE name" or "Drug name" columns hold vocabulary terms, not people
    if looks_like_chinese_names(values):
        return "name"
    return None


def looks_like_chinese_names(values: pd.Series) -> bool:
    """2-4 Chinese characters, mostly distinct, and not the spellings of a shared vocabulary."""
    if len(values) < 3 or share_matching(values, HAN_NAME) < PATTERN_SHARE:
        return False
    distinct = values.drop_duplicates()
    return len(distinct) / len(values) >= 0.8 and not _in_a_vocabulary(distinct)


#: What may join several coded values in one cell ("Anlotinib + Sintilimab", "吉西他滨、多西他赛").
LIST_SEPARATORS = re.compile(r"\s*[+、/,;，；]\s*")


def looks_like_free_text(distinct: pd.Series, non_null: int) -> bool:
    """Long, varied text (comments, notes): shown to nobody, since it may name a person.

    Lists of coded values (a regimen such as "Gemcitabine + Anlotinib + Sintilimab") are
    not free text: most of their parts are spellings of a shared vocabulary.
    """
    if distinct.empty:
        return False
    long_and_varied = distinct.str.len().median() >= FREE_TEXT_MIN_LENGTH and len(distinct) >= 0.5 * non_null
    if not long_and_varied:
        return False
    parts = distinct.str.split(LIST_SEPARATORS, regex=True).explode().dropna()
    parts = parts[parts.str.len() > 0].map(normalise)
    return not (len(parts) and parts.isin(_all_spellings()).mean() >= 0.5)


@cache
def _all_spellings() -> frozenset[str]:
    return frozenset().union(*(set(shared(v)) for v in available_vocabularies()))


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


# -- rendering -------------------------------------------------------------------------------
def _shorten(value: str, width: int = 24) -> str:
    value = value.replace("\n", " ")
    return value if len(value) <= width else value[:width - 1] + "…"


def render_profile(result: Profile, console=None) -> None:
    """Print a profile for a data manager: how the file reads, then one table per file/sheet."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = console or Console(highlight=False)
    console.print(f"[bold]{escape(str(result.path))}[/]")
    if result.format == "csv":
        name = DELIMITER_NAMES.get(result.delimiter, repr(result.delimiter))
        console.print(f"  format: CSV text   encoding: [bold]{result.encoding}[/] ({escape(result.encoding_note or '')})"
                      f"   delimiter: [bold]{escape(repr(result.delimiter))}[/] ({name})")
    else:
        listed = ", ".join(f"{escape(s.name)} ({s.rows} rows x {s.columns} columns)" for s in result.sheets)
        console.print(f"  format: Excel workbook, {len(result.sheets)} sheet(s): {listed}")
    for table in result.tables:
        title = f"sheet {table.sheet}: " if table.sheet is not None else ""
        grid = Table(title=escape(f"{title}{table.rows} rows, {len(table.columns)} columns"),
                     title_justify="left", show_lines=False)
        for heading, justify in (("column", "left"), ("type", "left"), ("empty", "right"),
                                 ("distinct", "right"), ("most frequent values (count)", "left"),
                                 ("date formats", "left")):
            grid.add_column(heading, justify=justify, overflow="fold")
        for col in table.columns:
            if col.hidden:
                values = f"[yellow](hidden: {escape(col.hidden)})[/]"
            else:
                values = escape(", ".join(f"{_shorten(v)} ({n})" for v, n in col.top))
            kind = col.type + (f" ({col.decimal} decimal)" if col.decimal != "." else "")
            grid.add_row(escape(col.name), kind, f"{100 * col.null_rate:.0f}%", str(col.distinct),
                         values, escape(" | ".join(col.date_formats)))
        console.print(grid)
        found = table.identifiers
        if found:
            console.print("  [bold yellow]Direct identifiers[/] (never stored; `new-center` marks them): "
                          + ", ".join(f"{escape(c.name)} ({IDENTIFIER_LABELS[c.identifier]})" for c in found))
        else:
            console.print("  No column looks like a direct identifier: check the headers anyway.")
