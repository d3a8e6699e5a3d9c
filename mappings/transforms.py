"""The named transforms a mapping file can ask for, one source column at a time.

Each transform takes the column's text cells and returns the canonical values plus the
cells it could not convert (``Problem`` rows: which cell, which rule, what to do). All
work is vectorised over the column, so a center of a million rows maps in seconds.

Transforms, in the order they apply: ``extract`` (regular expression) -> ``separator``
(several values in one cell) -> ``vocab``/``values`` (spellings to codes) -> ``type``
(integer, number, date, boolean) -> ``days_after`` + ``unit`` (offsets to dates).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from harmonise.mappings.derive import apply_age_rule
from harmonise.mappings.safe_regex import extract_group
from harmonise.mappings.model import UNITS, ColumnSpec
from harmonise.mappings.vocabulary import translate
from harmonise.schemas.canonical import AGENT_SEPARATOR, agent_class_columns, column_class
from harmonise.schemas.codes import CodeBook, builtin
from harmonise.schemas.quarantine import Rule

#: ISO dates are always accepted besides the declared formats: Excel date cells arrive as ISO.
ISO_DATE = "%Y-%m-%d"
#: ``date_format: excel_serial``: the cell is Excel's day number (44270 = 2021-03-15), as shown
#: when a date column of a workbook is formatted as a number. Day 1 is 1900-01-01 (Windows
#: Excel's 1900 date system; the origin 1899-12-30 absorbs Excel's phantom 1900-02-29).
EXCEL_SERIAL = "excel_serial"
EXCEL_EPOCH = pd.Timestamp("1899-12-30")


@dataclass
class Problem:
    """Cells of one column that a transform rejected (boolean mask over the column), the
    rule they broke and the inputs of its message (see ``schemas.quarantine``)."""

    mask: pd.Series
    rule: Rule
    inputs: dict = field(default_factory=dict)
    #: the parts of each rejected cell that broke the rule, when not the whole cell (of
    #: ``"Pembrolizumab + Cabozantinib"``: ``("Cabozantinib",)``); None: the cell itself
    parts: pd.Series | None = None


def unknown_parts(parts: pd.Series, coded: pd.Series, index: pd.Index) -> tuple[pd.Series, pd.Series]:
    """``(mask of cells with an unknown part, the tuple of those parts)`` of exploded cells."""
    unknown = parts.notna() & coded.isna()
    mask = unknown.groupby(level=0).any().reindex(index, fill_value=False)
    found = parts[unknown].groupby(level=0).agg(lambda s: tuple(dict.fromkeys(s)))
    return mask, found.reindex(index)


def clean_text(cells: pd.Series) -> pd.Series:
    """Strip surrounding spaces; blank cells become missing."""
    text = cells.astype("string").str.strip()
    return text.mask(text == "")


def extract(text: pd.Series, pattern: str, spec: ColumnSpec) -> tuple[pd.Series, list[Problem]]:
    """Keep the part of each cell matched by the pattern's one group (``'PS 1'`` -> ``'1'``)."""
    out = extract_group(text, pattern)
    bad = text.notna() & out.isna()
    return out, [Problem(bad, Rule.PATTERN_MISMATCH, {"pattern": pattern, "source": spec.source})]


def to_codes(text: pd.Series, spec: ColumnSpec, mapping_file: str) -> tuple[pd.Series, list[Problem]]:
    """Spellings -> canonical codes via the shared vocabulary and the center's ``values:``."""
    if spec.separator:
        parts = text.str.split(spec.separator, regex=False).explode().str.strip()
        parts = parts.mask(parts == "")
        coded = translate(parts, spec.vocab, spec.values)
        bad, shown = unknown_parts(parts, coded, text.index)
        joined = coded.dropna().groupby(level=0).agg(lambda s: AGENT_SEPARATOR.join(sorted(set(s))))
        out = joined.reindex(text.index)
    else:
        out = translate(text, spec.vocab, spec.values)
        bad, shown = text.notna() & out.isna(), None
    where = f"the project's vocab/{spec.vocab}.yaml" if spec.vocab else "the column's `values:`"
    cls = column_class(spec.table, spec.field) if spec.table else None
    inputs = {"vocabulary": spec.vocab or "values", "where": where, "source": spec.source,
              "mapping_file": mapping_file, **({"part_of_cell": True} if shown is not None else {}),
              **({"class": cls} if cls else {})}
    return out, [Problem(bad, Rule.UNKNOWN_CODE, inputs, shown)]


def to_type(values: pd.Series, spec: ColumnSpec) -> tuple[pd.Series, list[Problem]]:
    """Convert codes/text to the column's type; cells that do not convert are problems."""
    kind = spec.type
    if kind == "boolean":
        out = values.map({"true": True, "false": False}).astype("boolean")
        return out, []
    if kind in ("integer", "number"):
        text = values.astype("string")
        if spec.decimal != ".":
            text = text.str.replace(spec.decimal, ".", regex=False)
        number = pd.to_numeric(text, errors="coerce")
        bad = values.notna() & number.isna()
        problems = [Problem(bad, Rule.NOT_A_NUMBER, {"kind": kind})]
        if kind == "integer":
            too_big = number.notna() & (number.abs() >= 2.0 ** 63)  # would wrap to -9223372036854775808
            problems.append(Problem(too_big, Rule.AT_MOST, {"max_value": 2 ** 63 - 1}))
            number, fractional = apply_age_rule(number.where(~too_big), spec.age_rule)
            problems.append(Problem(fractional, Rule.NOT_WHOLE_AGE if spec.field == "age_years"
                                    else Rule.NOT_WHOLE_NUMBER))
        return number, problems
    if kind == "date":
        return parse_dates(values, spec.date_format)
    return values.astype("object").where(values.notna(), None), []


def parse_dates(values: pd.Series, formats: tuple[str, ...]) -> tuple[pd.Series, list[Problem]]:
    """Parse dates trying each declared format in turn (then ISO); no guessing beyond that."""
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    for fmt in (*formats, ISO_DATE):
        todo = out.isna() & values.notna()
        if not todo.any():
            break
        if fmt == EXCEL_SERIAL:
            out[todo] = excel_serial_dates(values[todo])
        else:
            out[todo] = pd.to_datetime(values[todo], format=fmt, errors="coerce")
    bad = values.notna() & out.isna()
    shown = " or ".join(sorted(set((*formats, ISO_DATE))))
    return out, [Problem(bad, Rule.DATE_FORMAT, {"formats": shown})]


def excel_serial_dates(values: pd.Series) -> pd.Series:
    """Excel day numbers (``'44270'``, ``'44270.5'``) -> dates; anything else -> missing.

    A time of day (the fraction) is dropped. Numbers outside 1..2958465 (9999-12-31) are
    not dates.
    """
    number = pd.to_numeric(values.astype("string"), errors="coerce")
    number = number.where((number >= 1) & (number < 2958466))
    days = pd.to_timedelta(np.floor(number.astype("Float64").to_numpy(dtype=float, na_value=np.nan)),
                           unit="D")
    return pd.Series(EXCEL_EPOCH + days, index=values.index).astype("datetime64[ns]")


#: Longest offset that can be a date of a patient's follow-up (a century); beyond, no date.
MAX_OFFSET_DAYS = 36_525


def offset_dates(days: pd.Series, base: pd.Series, unit: str) -> pd.Series:
    """``base + days * unit`` as dates, rounded to the day (e.g. weeks: x 7 days)."""
    count = (days.astype("Float64") * UNITS[unit]).round()
    count = count.where(count.abs() <= MAX_OFFSET_DAYS)  # 13800138000 days: no date, no crash
    offset = pd.to_timedelta(count.astype("float64"), unit="D")  # NA -> NaN: masked data stays out
    return (base + offset).astype("datetime64[ns]")


def split_regimen(text: pd.Series, spec: ColumnSpec, mapping_file: str, book: CodeBook | None = None
                  ) -> tuple[dict[str, pd.Series], list[Problem]]:
    """``'Anlotinib + Sintilimab'`` -> the immunotherapy agent and '+'-joined anti-angiogenic and
    cytotoxic agents.

    Each part is translated with the agent vocabulary; its class (immunotherapy, antiangiogenic,
    cytotoxic) comes from the study's code lists (``book``: ``schemas/codes.yaml`` and the
    project's ``codes.yaml``) and names its column (``agent_class_columns``).
    Exactly one immunotherapy agent (a PD-1 or PD-L1 inhibitor) is expected.
    """
    parts = text.str.split(spec.separator or "+", regex=False).explode().str.strip()
    parts = parts.mask(parts == "")
    coded = translate(parts, spec.vocab or "agent", spec.values)
    unknown, shown = unknown_parts(parts, coded, text.index)
    book = book or builtin()
    classes = coded.map(lambda c: book.attribute("agent", c, "class"), na_action="ignore")
    result = {}
    for cls, target in agent_class_columns().items():
        chosen = coded[classes == cls]
        joined = chosen.groupby(level=0).agg(lambda s: AGENT_SEPARATOR.join(sorted(set(s))))
        result[target] = joined.reindex(text.index).astype("object").where(lambda s: s.notna(), None)
    immunotherapy = coded[classes == "immunotherapy"].groupby(level=0).nunique()
    count = immunotherapy.reindex(text.index, fill_value=0)
    return result, [
        Problem(unknown, Rule.UNKNOWN_CODE, {"vocabulary": "agent", "where": "the project's vocab/agent.yaml",
                                             "source": spec.source, "mapping_file": mapping_file,
                                             "part_of_cell": True}, shown),
        Problem(text.notna() & (count != 1), Rule.ONE_IMMUNOTHERAPY),
    ]
