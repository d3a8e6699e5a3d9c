"""The study's survival comparisons (declared in plan.yaml) and the runner producing one tidy frame.

Each :class:`analysis.plan.Comparison` names a population (conditions on ``v_patient``
columns) and a grouping column; :func:`run_comparisons` runs every comparison for each of
its endpoints: per group
n, events, log-rank observed/expected, Kaplan-Meier median with CI (months, NaN = not
reached, R's print.survfit rule by default), the unstratified and center-stratified log-rank tests, and the
center-stratified Cox hazard ratio versus the named reference group.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from harmonise.analysis.cox import cox_hazard_ratios
from harmonise.analysis.km import KaplanMeier, kaplan_meier
from harmonise.analysis.logrank import logrank_test, stratified_logrank_of
from harmonise.analysis.plan import Comparison, Condition
from harmonise.analysis.risksets import group_indices, stratified_risk_sets


RESULT_COLUMNS = [
    "comparison", "label", "population", "endpoint", "group", "group_value", "reference",
    "is_reference", "n", "events", "observed", "expected", "median", "median_lower",
    "median_upper", "transform", "chi2", "df", "p", "strata", "strat_chi2", "strat_df",
    "strat_p", "hr", "hr_lower", "hr_upper", "hr_p", "hr_note"]


@dataclass(frozen=True)
class Curve:
    """One group's fitted curve (its step points are all the figures and at-risk tables need)."""

    value: object
    km: KaplanMeier


@dataclass
class ComparisonResults:
    """:func:`run_comparisons`' frame and every curve it fitted, by (comparison, endpoint)."""

    table: pd.DataFrame
    curves: dict[tuple[str, str], list[Curve]] = field(default_factory=dict)


def matches(frame: pd.DataFrame, condition: Condition) -> pd.Series:
    """Rows of ``frame`` meeting one plan condition (missing values never match)."""
    col = frame[condition.column]
    if condition.values:
        return col.isin(list(condition.values)).fillna(False).astype(bool)
    ok = col.notna()
    if condition.low is not None:
        ok &= col >= condition.low
    if condition.high is not None:
        ok &= col <= condition.high
    return ok.fillna(False).astype(bool)


def in_comparison(patients: pd.DataFrame, comparison: Comparison) -> pd.Series:
    """Which rows of ``patients`` are in the comparison's population and listed groups."""
    keep = patients[comparison.by].isin(list(comparison.groups)).fillna(False).astype(bool)
    for condition in comparison.population.where:
        keep &= matches(patients, condition)
    return keep


def select(patients: pd.DataFrame, comparison: Comparison) -> pd.DataFrame:
    """Rows of ``patients`` in the comparison's population and listed groups."""
    return patients[in_comparison(patients, comparison)]


def compare(patients: pd.DataFrame, comparison: Comparison, endpoint: str, labels: dict, *,
            strata: str = "center_id", transform: str = "log", alpha: float = 0.05,
            median_rule: str = "print", selected: bool = False
            ) -> tuple[list[dict], list[Curve]]:
    """Run one comparison for one endpoint (``"pfs"``, ``"os"``, ...): one dict per group,
    keys :data:`RESULT_COLUMNS` (see :func:`run_comparisons`), and the fitted curves.
    ``labels``: ``{group code: short label}``. ``selected``: ``patients`` already holds
    only the comparison's rows (:func:`select`)."""
    rows = patients if selected else select(patients, comparison)
    t = rows[f"{endpoint}_months"].to_numpy(float)
    e = rows[f"{endpoint}_event"].to_numpy(bool)
    values = tuple(comparison.groups)
    reference = values[0]
    # groups as their index in ``values`` (matched once, by ==): the tests compare integers
    g = group_indices(rows[comparison.by].to_numpy(object), values)
    codes = tuple(range(len(values)))
    s = rows[strata].to_numpy(object)
    plain = logrank_test(t, e, g, groups=codes)
    timed = ~np.isnan(t)                   # one set of stratified risk sets for both tests
    sets = stratified_risk_sets(t[timed], e[timed], g[timed], pd.factorize(s[timed])[0],
                                len(codes))
    strat = stratified_logrank_of(sets, codes, int((~timed).sum()))
    hrs = cox_hazard_ratios(t, e, g, reference=0, groups=codes, strata=s, alpha=alpha,
                            sets=sets)
    out, curves = [], []
    for i, value in enumerate(values):
        mine = g == i
        curve = kaplan_meier(t[mine], e[mine], transform=transform, alpha=alpha,
                             label=labels[value], median_rule=median_rule)
        curves.append(Curve(value, curve))
        hr = hrs[hrs["group"] == i]
        is_ref = value == reference
        out.append({
            "comparison": comparison.name, "label": comparison.label,
            "population": comparison.population.expression or "all", "endpoint": endpoint,
            "group": labels[value], "group_value": str(value),
            "reference": labels[reference], "is_reference": is_ref,
            "n": int(plain.n[i]), "events": curve.events,
            "observed": plain.observed[i], "expected": plain.expected[i],
            "median": curve.median, "median_lower": curve.median_lower,
            "median_upper": curve.median_upper, "transform": transform,
            "chi2": plain.chi2, "df": plain.df, "p": plain.p, "strata": strata,
            "strat_chi2": strat.chi2, "strat_df": strat.df, "strat_p": strat.p,
            "hr": 1.0 if is_ref else float(hr["hr"].iloc[0]),
            "hr_lower": np.nan if is_ref else float(hr["hr_lower"].iloc[0]),
            "hr_upper": np.nan if is_ref else float(hr["hr_upper"].iloc[0]),
            "hr_p": np.nan if is_ref else float(hr["hr_p"].iloc[0]),
            "hr_note": "reference" if is_ref else hr["note"].iloc[0]})
    return out, curves


def run_comparisons(patients: pd.DataFrame, comparisons, short_label=None, *,
                    strata: str = "center_id", transform: str = "log",
                    alpha: float = 0.05, median_rule: str = "print") -> ComparisonResults:
    """Run every comparison for each of its endpoints on a ``v_patient`` frame.

    Parameters
    ----------
    patients : pandas.DataFrame
        ``v_patient`` rows (see :func:`analysis.views.patients`); times in months.
    comparisons : iterable of analysis.plan.Comparison
        The plan's comparisons (``plan.comparisons``).
    short_label : callable, optional
        ``(column, code) -> label`` of the ``group`` column (e.g.
        :meth:`analysis.labels.Labels.short`); default: the code.
    strata : str
        Column stratifying the second log-rank test and the Cox model (center).
    transform : str
        Band transform for the median CIs (:data:`analysis.km.TRANSFORMS`).
    median_rule : str
        Median rule (:data:`analysis.km.MEDIAN_RULES`; ``print`` = R's print.survfit).

    Returns
    -------
    ComparisonResults
        ``table``: one row per comparison x endpoint x group, columns
        :data:`RESULT_COLUMNS`: group label and value, the reference group's label, ``n``,
        ``events``, log-rank ``observed`` / ``expected`` events, KM ``median`` with CI
        (months, None = NR), ``chi2``/``df``/``p`` (unstratified),
        ``strat_chi2``/``strat_df``/``strat_p`` (stratified by ``strata``), ``hr`` with 95%
        CI and Wald ``hr_p`` versus the reference (1 / NaN on the reference row) and
        ``hr_note``. ``curves``: the fitted group curves of each (comparison, endpoint).
    """
    short_label = short_label or (lambda column, code: str(code))
    rows, curves = [], {}
    for c in comparisons:
        labels = {v: short_label(c.by, v) for v in c.groups}
        columns = dict.fromkeys([c.by, strata, *(f"{ep}_{x}" for ep in c.endpoints
                                                for x in ("months", "event"))])
        chosen = patients.loc[in_comparison(patients, c), list(columns)]  # once per comparison
        for ep in c.endpoints:
            out, fitted = compare(chosen, c, ep, labels, strata=strata, transform=transform,
                                  alpha=alpha, median_rule=median_rule, selected=True)
            rows += out
            curves[(c.name, ep)] = fitted
    return ComparisonResults(pd.DataFrame(rows, columns=RESULT_COLUMNS), curves)
