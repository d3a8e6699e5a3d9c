"""The mapping language's typed model: its keys and the checked mapping of one center.

``mappings.spec.load_mapping`` builds these records from a center's YAML file (see
``docs/mapping-language.md`` for every key); the engine and the export readers consume them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harmonise.schemas.codes import CodeBook, builtin
from harmonise.mappings.summary_spec import SummarySpec
from harmonise.schemas.fields import DAYS_PER_MONTH, DAYS_PER_YEAR

TOP_KEYS = {"center", "mapping_version", "description", "files", "ignore_files"}
FILE_KEYS = {"role", "name", "format", "encoding", "delimiter", "sheet", "date_format",
             "decimal", "columns", "adverse_events_wide", "constants", "description",
             "header_row", "skip_footer", "skip_rows", "not_recorded", "derived", "summaries"}
COLUMN_KEYS = {"to", "type", "vocab", "values", "separator", "extract", "date_format",
               "days_after", "unit", "identifier", "split_regimen", "optional", "decimal",
               "note", "derive", "age_rule"}
SKIP_RULE_KEYS = {"column", "equals", "starts_with", "empty"}
#: ``age_rule:`` of an age given with a fraction (41.5): whole years by rounding, by
#: completed years (floor), or only whole numbers accepted as given.
AGE_RULES = {"round", "floor", "as_given"}
WIDE_KEYS = {"columns", "extract", "note"}
ROLES = {"patients", "adverse_events", "assessments"}
FORMATS = {"csv", "excel"}
TYPES = {"string", "integer", "number", "date", "boolean"}
IDENTIFIER_ACTIONS = {"pseudonymise", "drop"}
SHORTHANDS = {"drop", "ignore"}
#: Length of one unit in days, for ``unit:`` on a ``days_after`` column.
#: Months and years use the study's convention (``schemas.fields``: 365.25 / 12 days a month).
UNITS = {"days": 1.0, "weeks": 7.0, "months": DAYS_PER_MONTH, "years": DAYS_PER_YEAR}
#: Which role may feed which canonical tables.
ROLE_TABLES = {"patients": {"patient", "treatment", "outcome"},
               "adverse_events": {"adverse_event"},
               "assessments": {"assessment"}}


@dataclass(frozen=True)
class ColumnSpec:
    """What to do with one source column."""

    source: str
    action: str                      # map | drop | identifier | pseudonymise | split_regimen
    table: str | None = None
    field: str | None = None
    type: str = "string"
    vocab: str | None = None
    values: dict | None = None
    separator: str | None = None
    extract: str | None = None
    date_format: tuple[str, ...] = ()
    days_after: tuple[str, str] | None = None
    unit: str = "days"
    optional: bool = False
    decimal: str = "."
    #: a named derivation of ``mappings.derive`` (the cell is its input, e.g. a birth date)
    derive: str | None = None
    age_rule: str = "as_given"


@dataclass(frozen=True)
class SkipRule:
    """Rows that are not data (a footer such as ``Total;24 patients``): skipped, never quarantined."""

    column: str
    equals: str | None = None
    starts_with: str | None = None
    empty: bool = False

    def describe(self) -> str:
        if self.empty:
            return f"rows whose '{self.column}' is empty"
        if self.equals is not None:
            return f"rows whose '{self.column}' is '{self.equals}'"
        return f"rows whose '{self.column}' starts with '{self.starts_with}'"


@dataclass(frozen=True)
class FileSpec:
    """One export file of a center and how its columns map."""

    role: str
    name: str
    format: str
    encoding: str
    delimiter: str
    sheet: str | int | None
    columns: dict[str, ColumnSpec]
    wide_adverse_events: dict[str, str] = field(default_factory=dict)
    wide_extract: str | None = None
    constants: dict[tuple[str, str], object] = field(default_factory=dict)
    #: the spreadsheet row (1 = first) that holds the header; rows above it are a title block
    header_row: int = 1
    #: rows at the end of the file that are not data (a footer), by position
    skip_footer: int = 0
    skip_rows: tuple[SkipRule, ...] = ()
    #: canonical columns the export does not record (``not_recorded:``), stored empty
    not_recorded: frozenset[tuple[str, str]] = frozenset()
    #: ``{(table, column): derivation}`` computed from other canonical columns of the row
    derived: dict[tuple[str, str], str] = field(default_factory=dict)
    #: ``role: assessments``: the outcome columns its rows are summarised into
    summaries: tuple[SummarySpec, ...] = ()


@dataclass(frozen=True)
class CenterMapping:
    """A center's whole mapping, checked."""

    center: str
    version: str
    path: Path
    sha256: str
    files: tuple[FileSpec, ...]
    #: files in the center's folder that hold nothing the study needs (``ignore_files:``)
    ignore_files: tuple[str, ...] = ()

    @property
    def not_recorded(self) -> frozenset[tuple[str, str]]:
        """Canonical columns the center's export does not record (every file's ``not_recorded:``)."""
        return frozenset().union(*(f.not_recorded for f in self.files))
    #: sha256 of the study's vocab/ files and codes.yaml folded into this mapping ("" when none).
    vocab_sha256: str = ""
    #: the study's code lists (the built-in ones with the project's codes.yaml merged in)
    codes: CodeBook = field(default_factory=builtin)
