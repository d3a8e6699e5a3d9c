"""The report page as typed parts: what the Jinja2 template (``templates/report.html.j2``)
renders. Every field is display text already formatted by :mod:`analysis.present`; the
template escapes all of it (autoescape on), so no markup is ever built in Python.

A :class:`Page` is a header plus an ordered list of :class:`Section`; each section names
the partial that renders it (``templates/sections/<name>.html.j2``) and carries its own
typed content. A new section is a dataclass (or a :class:`Tables` block), one partial and
one entry in the list: the navigation follows the list.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from harmonise.analysis.attrition import Diagram
from harmonise.analysis.present import MISSING, is_missing


@dataclass(frozen=True)
class Cell:
    """One table cell. ``css``: a class (``ok``/``bad``) on the text; ``title``: a tooltip
    (an ``<abbr>`` around the text); ``sub``: a second line; ``code``: monospace text."""

    text: str
    css: str = ""
    title: str = ""
    sub: str = ""
    code: bool = False


def cell(value) -> Cell:
    """A :class:`Cell` from a cell or any value (missing -> en dash)."""
    if isinstance(value, Cell):
        return value
    return Cell(MISSING if is_missing(value) else str(value))


@dataclass(frozen=True)
class Row:
    """A table row: its cells, or a section heading spanning every column (``heading``)."""

    cells: tuple[Cell, ...] = ()
    heading: str = ""

    @classmethod
    def of(cls, *values) -> Row:
        return cls(tuple(cell(v) for v in values))

    @classmethod
    def section(cls, text: str) -> Row:
        return cls(heading=str(text))


@dataclass(frozen=True)
class Table:
    """A table with a stable ``id``; ``numeric`` = indexes of right-aligned columns."""

    id: str
    head: tuple[Cell, ...]
    rows: tuple[Row, ...]
    caption: str = ""
    numeric: frozenset[int] = frozenset()

    @classmethod
    def build(cls, id_: str, head, rows, *, caption: str = "", numeric=()) -> Table:
        rows = tuple(r if isinstance(r, Row) else Row.of(*r) for r in rows)
        return cls(id_, tuple(cell(h) for h in head), rows, caption, frozenset(numeric))


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of text; ``id`` optional, ``strong`` = a bold lead-in sentence."""

    text: str
    id: str = ""
    strong: str = ""
    note: bool = True


@dataclass(frozen=True)
class Tables:
    """Content of a plain section: paragraphs and tables in order."""

    blocks: tuple[Table | Paragraph, ...]


@dataclass(frozen=True)
class Panel:
    """One figure panel: its SVG (vector: sharp on a phone and in print) as base64."""

    id: str
    title: str
    caption: str
    svg_base64: str


@dataclass(frozen=True)
class FigureGroup:
    """One numbered figure (``Figure 2``) and its panels."""

    id: str
    title: str
    panels: tuple[Panel, ...]


@dataclass(frozen=True)
class Figures:
    """Content of the figures section."""

    intro: str
    groups: tuple[FigureGroup, ...]


@dataclass(frozen=True)
class Attrition:
    """Content of the patient-flow section: the diagram (drawn by ``attrition.svg.j2``), its
    caption, then paragraphs and tables."""

    diagram: Diagram
    caption: str
    tables: Tables


@dataclass(frozen=True)
class Section:
    """One ``<section id=...>`` of the page, rendered by ``sections/<partial>.html.j2``."""

    id: str
    title: str
    nav: str
    partial: str
    content: Tables | Figures | Attrition


@dataclass(frozen=True)
class Page:
    """The whole report page."""

    title: str
    lead: str
    meta: tuple[tuple[str, str], ...]
    warning: str = ""
    sections: tuple[Section, ...] = field(default_factory=tuple)
