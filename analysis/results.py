"""The report's results as typed records: what :func:`analysis.report.collect` computes once
and every writer (numbers, page) reads. Frames keep their documented columns (see the
functions that make them); nothing here is recomputed or formatted.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from harmonise.analysis.comparisons import ComparisonResults
from harmonise.analysis.km import KaplanMeier
from harmonise.analysis.labels import Labels


@dataclass(frozen=True)
class Provenance:
    """Where the data came from (:func:`analysis.provenance.provenance`)."""

    centers: pd.DataFrame
    files: pd.DataFrame
    quarantine_counts: pd.DataFrame
    quarantine: pd.DataFrame
    #: ``v_quality_change``: per center, findings new / persisting / resolved since the last run.
    quality_changes: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: ``v_duplicate_pair``: per pair of centers, patients likely the same person at both.
    duplicates: pd.DataFrame = field(default_factory=pd.DataFrame)


@dataclass(frozen=True)
class FigureSet:
    """The drawn panels (:func:`analysis.figures.render_figures`): one row per panel, the
    curves' numbers per panel and group, the numbers at risk per tick, and the table under
    each plot (at risk, censored, events per tick)."""

    figures: pd.DataFrame
    curves: pd.DataFrame
    at_risk: pd.DataFrame
    risk_table: pd.DataFrame | None = None


@dataclass
class Results:
    """Everything the report shows, computed once from the warehouse and the plan.

    ``labels``: the plan and the warehouse's code lists (words for every code).
    ``patients``: ``v_patient`` rows. ``km_all``: one Kaplan-Meier summary per endpoint,
    all patients (``curves``: those curves). ``comparisons``: one row per comparison x
    endpoint x group (:func:`analysis.comparisons.run_comparisons` plus labels;
    ``compared``: its result with the fitted curves). ``response``: response rates overall
    and per grouping; ``response_by_asps``: overall, ASPS, non-ASPS (for the published
    numbers; None without them). ``table1_data``/``table2_data``: numbers; ``table1``/
    ``table2``: display frames. ``paper``: the side-by-side frame, None when not shown.
    """

    labels: Labels
    patients: pd.DataFrame
    cutoff: dt.date | None
    transform: str
    km_all: pd.DataFrame
    curves: dict[str, KaplanMeier]
    landmarks: pd.DataFrame
    followup: pd.DataFrame
    comparisons: pd.DataFrame
    compared: ComparisonResults
    response: pd.DataFrame
    response_by_asps: pd.DataFrame | None
    table1_data: pd.DataFrame
    table1: pd.DataFrame
    table2_data: pd.DataFrame
    table2: pd.DataFrame
    provenance: Provenance
    generated_at: dt.datetime = field(
        default_factory=lambda: dt.datetime.now(dt.timezone.utc).replace(microsecond=0))
    figures: FigureSet | None = None
    paper: pd.DataFrame | None = None
    published_source: dict = field(default_factory=dict)
    median_rule: str = "print"

    @property
    def ref_labels(self) -> dict[str, dict[str, str]]:
        return self.labels.ref

    @property
    def centers(self) -> list[str]:
        """The loaded centers, sorted."""
        return sorted(self.patients["center_id"].unique())
