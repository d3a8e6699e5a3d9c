"""Where the data is in an export: the header row below a title block, footers, formula cells.

Hospital exports often carry a title block (the hospital's name, "exported on ...") above
the real header, a footer ("Total;24 patients") below the data, and, in workbooks,
formula cells. ``profile`` finds them so that the draft can say ``header_row:`` and
``skip_footer:``, and a formula whose result was never saved is not read as empty without
a word.
"""
from __future__ import annotations

import csv
import math
import re
from pathlib import Path

import pandas as pd

#: Rows looked at to find the header.
HEADER_SEARCH_ROWS = 30
#: A header row fills at least this share of the widest row's cells.
HEADER_FILL = 0.6
#: First-column words of a summary row (compared case-folded, surrounding ":" ignored).
SUMMARY_WORDS = {"total", "totals", "sum", "summe", "gesamt", "insgesamt", "totale", "totaal",
                 "total général", "total general", "合计", "总计", "小计", "共计", "汇总"}
#: Footer rows examined at the end of a table.
FOOTER_SEARCH_ROWS = 5
_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)?%?")


def _is_header_like(cells: list[str], width: int) -> bool:
    filled = [c.strip() for c in cells if c is not None and str(c).strip()]
    if len(filled) < max(2, math.ceil(HEADER_FILL * width)):
        return False
    if any(_NUMBER.fullmatch(c) for c in filled):
        return False
    return len(set(filled)) == len(filled)


def header_row_of(rows: list[list[str]]) -> int:
    """The 1-based row holding the header: the first row whose cells look like column names.

    A title block is a few rows with one or two cells filled (a merged title, an export
    date) or none; the header fills most of the columns with distinct non-numeric names.
    """
    rows = rows[:HEADER_SEARCH_ROWS]
    width = max((sum(1 for c in r if c is not None and str(c).strip()) for r in rows), default=0)
    for i, row in enumerate(rows):
        if _is_header_like([None if c is None else str(c) for c in row], width):
            return i + 1
    return 1


def csv_rows(text: str, delimiter: str) -> list[list[str]]:
    lines = text.splitlines()[:HEADER_SEARCH_ROWS]
    return [row for row in csv.reader(lines, delimiter=delimiter)]


def excel_rows(path: Path, sheet: str) -> list[list[str]]:
    import openpyxl
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        ws = book[sheet]
        out = []
        for row in ws.iter_rows(max_row=HEADER_SEARCH_ROWS, values_only=True):
            out.append([None if v is None else str(v) for v in row])
        return out
    finally:
        book.close()


def footer_rows(frame: pd.DataFrame) -> int:
    """How many rows at the end of a table are a footer (a summary or a note), not data.

    A trailing row is a footer when its first cell is a summary word ("Total", "合计") or
    when it fills at most a third of the cells that the data rows fill.
    """
    if len(frame) < 3 or frame.shape[1] < 2:
        return 0
    filled = frame.notna().sum(axis=1)
    typical = filled.iloc[:-FOOTER_SEARCH_ROWS].median() if len(frame) > FOOTER_SEARCH_ROWS * 2 \
        else filled.median()
    count = 0
    for i in range(len(frame) - 1, max(len(frame) - 1 - FOOTER_SEARCH_ROWS, 0), -1):
        first = frame.iloc[i, 0]
        word = str(first).strip().strip(":：").casefold() if pd.notna(first) else ""
        if word in SUMMARY_WORDS or word.split(" ")[0] in SUMMARY_WORDS \
                or filled.iloc[i] <= typical / 3:
            count += 1
        else:
            break
    return count


def unsaved_formulas(path: Path, sheet: str, header_row: int) -> dict[str, int]:
    """``{column header: cells}`` holding a formula whose result the workbook never saved.

    Such a cell reads as empty (the file has no value for it); Excel or LibreOffice saves
    the results when the workbook is opened and saved again.
    """
    import openpyxl
    formulas = openpyxl.load_workbook(path, read_only=True, data_only=False)[sheet]
    values = openpyxl.load_workbook(path, read_only=True, data_only=True)[sheet]
    headers: dict[int, str] = {}
    found: dict[str, int] = {}
    for n, (frow, vrow) in enumerate(zip(formulas.iter_rows(values_only=True),
                                         values.iter_rows(values_only=True)), start=1):
        if n == header_row:
            headers = {i: str(v) for i, v in enumerate(frow) if v is not None}
        if n <= header_row:
            continue
        for i, (f, v) in enumerate(zip(frow, vrow)):
            if isinstance(f, str) and f.startswith("=") and v is None:
                name = headers.get(i, f"column {i + 1}")
                found[name] = found.get(name, 0) + 1
    return found
