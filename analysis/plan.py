"""The analysis plan of a study (``plan.yaml``) as typed, validated records.

A plan says, as data, what the analysis of a study is: the time unit, the endpoints and
their event / censoring rules, the derived groupings (codes with their labels and the rule
that assigns them), the populations, the comparisons (endpoint x grouping x population),
the figures, the landmarks, the rows of Table 1 and Table 2, the response groupings and,
optionally, the published numbers to set beside ours. docs/analysis-plan.md documents
every key. :func:`load_plan` reads and validates one file; every problem is a
:class:`PlanError` naming the file, the key and what to do.

The SQL that computes the derived groupings and the endpoints is generated from this
record by :mod:`analysis.plan_sql`; nothing else states them.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml




class PlanError(ValueError):
    """A problem in ``plan.yaml``: the file, the key (dotted path), what is wrong, a hint."""

    def __init__(self, path: Path, key: str, problem: str, hint: str = ""):
        self.path, self.key, self.problem, self.hint = Path(path), key, problem, hint
        where = f"{self.path}: {key}: " if key else f"{self.path}: "
        super().__init__(where + problem + (f". Hint: {hint}" if hint else ""))

EXAMPLE_PLAN = Path(__file__).resolve().parents[1] / "demo" / "study" / "plan.yaml"
"""The reference study's plan (the example project ``demo/study/``)."""
STARTER_PLAN = Path(__file__).with_name("plan_starter.yaml")
"""The commented plan ``harmonise init`` writes into a new project."""

BASE_COLUMNS = (
    "center_id", "patient_key", "sex", "age_years", "histology", "primary_site",
    "lung_metastasis", "other_metastasis", "ecog", "prior_lines", "start_date",
    "line_of_therapy", "immunotherapy_agent", "antiangiogenic_agents", "cytotoxic_agents",
    "has_antiangiogenic", "has_cytotoxic", "local_treatment", "has_local_treatment",
    "end_date", "discontinuation_reason", "best_response", "progression_date", "death_date",
    "last_followup_date", "cutoff_date")
"""Columns of ``v_patient`` that come from the canonical tables (first course, outcome)."""
DATE_COLUMNS = ("start_date", "end_date", "progression_date", "death_date",
                "last_followup_date")


@dataclass(frozen=True)
class Condition:
    """One test on a column: ``values`` (equal to one of them) or a ``low``..``high`` range
    (inclusive; either may be None)."""

    column: str
    values: tuple = ()
    low: float | None = None
    high: float | None = None

    def describe(self) -> str:
        """The test in words a reader of pandas knows (``is_asps``, ``ecog >= 1``)."""
        if self.values:
            if len(self.values) == 1 and isinstance(self.values[0], bool):
                return self.column if self.values[0] else f"not {self.column}"
            if len(self.values) == 1:
                return f"{self.column} == {self.values[0]!r}"
            return f"{self.column} in {list(self.values)!r}"
        parts = ([f"{self.column} >= {self.low:g}"] if self.low is not None else []) + (
            [f"{self.column} <= {self.high:g}"] if self.high is not None else [])
        return " and ".join(parts)


@dataclass(frozen=True)
class Level:
    """One code of a derived grouping: its label (words), short label (legends, compact
    tables) and the conditions that assign it (all must hold); ``otherwise`` = the rest."""

    code: str | bool
    label: str
    short: str
    when: tuple[Condition, ...] = ()
    otherwise: bool = False


@dataclass(frozen=True)
class Derived:
    """A derived column of ``v_patient``: its codes, in display order."""

    name: str
    label: str
    levels: tuple[Level, ...]
    codes_in_legend: bool = False

    def level(self, code) -> Level | None:
        return next((lv for lv in self.levels if lv.code == code), None)


@dataclass(frozen=True)
class Endpoint:
    """A time-to-event endpoint: the event is the first of ``events`` (date columns) on or
    before the cut-off; otherwise the patient is censored at min(``censor``, cut-off).
    Time runs from ``start_date`` (start of the course)."""

    name: str
    label: str
    short: str
    events: tuple[str, ...]
    censor: str

    @property
    def time_column(self) -> str:
        return f"{self.name}_months"

    @property
    def event_column(self) -> str:
        return f"{self.name}_event"


@dataclass(frozen=True)
class Population:
    """A named selection of patients; ``where`` empty = all patients."""

    name: str
    label: str
    where: tuple[Condition, ...] = ()

    @property
    def expression(self) -> str | None:
        """The selection in words (``not is_asps``); None for all patients."""
        return " and ".join(c.describe() for c in self.where) or None


@dataclass(frozen=True)
class Comparison:
    """Groups of one column compared within a population, for each of its endpoints. The
    first group is the reference of the hazard ratios."""

    name: str
    label: str
    by: str
    groups: tuple
    population: Population
    endpoints: tuple[str, ...]


@dataclass(frozen=True)
class Panel:
    """One comparison drawn for each of its endpoints (``comparison`` None = all patients);
    ``slug`` names the files."""

    comparison: str | None
    slug: str


@dataclass(frozen=True)
class Figure:
    number: int
    title: str
    panels: tuple[Panel, ...]


@dataclass(frozen=True)
class Table1Row:
    """One section of Table 1: a ``summary`` column (median and range), ``count`` of each
    code of a column, and/or ``flags`` (item -> boolean column) with their labels."""

    section: str
    title: str
    summary: str | None = None
    count: str | None = None
    flags: tuple[tuple[str, str, str], ...] = ()      # (item, column, label)


@dataclass(frozen=True)
class Table1:
    columns: str
    rows: tuple[Table1Row, ...]


@dataclass(frozen=True)
class Table2:
    terms: tuple[str, ...] = ()          # empty = every term of the ae_term vocabulary
    any_label: str = "Any adverse event"


@dataclass(frozen=True)
class ResponseGrouping:
    by: str
    title: str


@dataclass(frozen=True)
class Published:
    """The published numbers to set beside ours and where their errata are listed."""

    numbers: Path
    errata: Path

    def load(self) -> dict:
        return yaml.safe_load(self.numbers.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Plan:
    """The whole plan of one study (see docs/analysis-plan.md)."""

    path: Path
    title: str
    lead: str
    days_per_month: float
    time_axis: str
    endpoints: tuple[Endpoint, ...]
    derived: tuple[Derived, ...]
    populations: tuple[Population, ...]
    comparisons: tuple[Comparison, ...]
    figures: tuple[Figure, ...]
    landmarks: dict[str, tuple[float, ...]]
    table1: Table1
    table2: Table2
    response: tuple[ResponseGrouping, ...]
    followup: str
    published: Published | None = None

    def endpoint(self, name: str) -> Endpoint:
        return next(e for e in self.endpoints if e.name == name)

    def derived_column(self, name: str) -> Derived | None:
        return next((d for d in self.derived if d.name == name), None)

    def comparison(self, name: str) -> Comparison:
        return next(c for c in self.comparisons if c.name == name)

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column a plan may refer to: base, derived, endpoint columns."""
        return (BASE_COLUMNS + tuple(d.name for d in self.derived)
                + tuple(c for e in self.endpoints for c in (e.event_column, e.time_column,
                                                            f"{e.name}_days")))


def load_plan(path: Path | str = EXAMPLE_PLAN) -> Plan:
    """Read and validate ``plan.yaml``; raise :class:`PlanError` naming file, key and hint."""
    from harmonise.analysis.plan_build import build
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PlanError(path, "", f"cannot read the plan ({exc.strerror})",
                        "check the path, or run `harmonise init` to write a project") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise PlanError(path, "", f"not valid YAML{where}: {getattr(exc, 'problem', exc)}",
                        "fix the indentation or quoting there") from None
    return build(path, data)
