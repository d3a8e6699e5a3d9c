"""The study's survival comparisons, declared as data, and the runner producing one tidy frame.

Each :class:`Comparison` names a population (a ``DataFrame.query`` on ``v_patient``) and
a grouping column; :func:`run_comparisons` runs every comparison for PFS and OS: per group
n, events, log-rank observed/expected, Kaplan-Meier median with CI (months, R's rule,
NaN = not reached, R's print.survfit rule by default), the unstratified and center-stratified log-rank tests, and the
center-stratified Cox hazard ratio versus the named reference group.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from harmonise.analysis.cox import cox_hazard_ratios
from harmonise.analysis.km import ENDPOINTS, kaplan_meier
from harmonise.analysis.logrank import logrank_test, stratified_logrank_test


@dataclass(frozen=True)
class Comparison:
    """One survival comparison of the study, declared as data.

    Attributes
    ----------
    name : str
        Identifier (matches ``p_values`` keys of ``analysis/data/published_study.yaml``
        where the paper quotes a p-value).
    label : str
        Words for a report.
    population : str or None
        ``pandas.DataFrame.query`` expression on ``v_patient`` selecting the population;
        None = all patients.
    group_col : str
        ``v_patient`` column that defines the groups.
    groups : tuple of (value, label)
        The compared groups in display order; the FIRST is the reference of the hazard
        ratios. Patients whose value is not listed are left out of the comparison.
    """

    name: str
    label: str
    population: str | None
    group_col: str
    groups: tuple

    @property
    def reference(self):
        """Group value of the hazard-ratio reference (the first listed group)."""
        return self.groups[0][0]


_LINES = (("later", "Later lines (>= 3)"), ("<=2", "<= 2 lines"))
_ASPS = (False, "non-ASPS"), (True, "ASPS")

COMPARISONS: tuple[Comparison, ...] = (
    Comparison("asps_vs_non_asps", "ASPS vs non-ASPS", None, "is_asps", _ASPS),
    Comparison("histology_groups", "Sensitive vs potentially sensitive vs other", None,
               "histology_group", (("other", "Other subtypes"),
                                   ("potentially_sensitive", "Potentially sensitive"),
                                   ("sensitive", "Sensitive (ASPS)"))),
    Comparison("potentially_sensitive_vs_other",
               "Potentially sensitive vs other subtypes (non-ASPS)", "not is_asps",
               "histology_group", (("other", "Other subtypes"),
                                   ("potentially_sensitive", "Potentially sensitive"))),
    Comparison("monotherapy_vs_combination", "Monotherapy vs combination (all patients)",
               None, "therapy", (("monotherapy", "PD-1 monotherapy"),
                                 ("combination", "Combination"))),
    Comparison("asps_combination_vs_monotherapy", "Monotherapy vs combination (ASPS)",
               "is_asps", "therapy", (("monotherapy", "PD-1 monotherapy"),
                                      ("combination", "Combination"))),
    Comparison("non_asps_regimens", "I+A vs I+C vs I+A+C (non-ASPS)", "not is_asps",
               "regimen_class", (("I+A", "PD-1 + anti-angiogenic"),
                                 ("I+C", "PD-1 + cytotoxic"),
                                 ("I+A+C", "PD-1 + anti-angiogenic + cytotoxic"))),
    Comparison("le2_vs_later_lines", "<= 2 lines vs later (all patients)", None,
               "line_group", _LINES),
    Comparison("asps_le2_vs_later_lines", "<= 2 lines vs later (ASPS)", "is_asps",
               "line_group", _LINES),
    Comparison("non_asps_le2_vs_later_lines", "<= 2 lines vs later (non-ASPS)", "not is_asps",
               "line_group", _LINES),
    Comparison("potentially_sensitive_le2_vs_later_lines",
               "<= 2 lines vs later (potentially sensitive)",
               "histology_group == 'potentially_sensitive'", "line_group", _LINES),
    Comparison("other_le2_vs_later_lines", "<= 2 lines vs later (other subtypes)",
               "histology_group == 'other'", "line_group", _LINES),
)
"""The study's comparisons; each is run for PFS and OS by :func:`run_comparisons`."""

RESULT_COLUMNS = [
    "comparison", "label", "population", "endpoint", "group", "group_value", "reference",
    "is_reference", "n", "events", "observed", "expected", "median", "median_lower",
    "median_upper", "transform", "chi2", "df", "p", "strata", "strat_chi2", "strat_df",
    "strat_p", "hr", "hr_lower", "hr_upper", "hr_p", "hr_note"]


def select(patients: pd.DataFrame, comparison: Comparison) -> pd.DataFrame:
    """Rows of ``patients`` in the comparison's population and listed groups."""
    rows = patients if comparison.population is None else patients.query(comparison.population)
    values = [v for v, _ in comparison.groups]
    return rows[rows[comparison.group_col].isin(values)]


def compare(patients: pd.DataFrame, comparison: Comparison, endpoint: str, *,
            strata: str = "center_id", transform: str = "log",
            alpha: float = 0.05, median_rule: str = "print") -> list[dict]:
    """Run one comparison for one endpoint (``"pfs"`` or ``"os"``): one dict per group,
    keys :data:`RESULT_COLUMNS` (see :func:`run_comparisons`)."""
    rows = select(patients, comparison)
    time_col, event_col = ENDPOINTS[endpoint]
    t, e = rows[time_col].to_numpy(float), rows[event_col].to_numpy(bool)
    g = rows[comparison.group_col].to_numpy(object)
    values = tuple(v for v, _ in comparison.groups)
    plain = logrank_test(t, e, g, groups=values)
    strat = stratified_logrank_test(t, e, g, rows[strata].to_numpy(object), groups=values)
    hrs = cox_hazard_ratios(t, e, g, reference=comparison.reference, groups=values,
                            strata=rows[strata].to_numpy(object), alpha=alpha)
    labels = dict(comparison.groups)
    out = []
    for i, value in enumerate(values):
        curve = kaplan_meier(t[g == value], e[g == value], transform=transform, alpha=alpha,
                             label=labels[value], median_rule=median_rule)
        hr = hrs[hrs["group"] == value]
        is_ref = value == comparison.reference
        out.append({
            "comparison": comparison.name, "label": comparison.label,
            "population": comparison.population or "all", "endpoint": endpoint,
            "group": labels[value], "group_value": str(value),
            "reference": labels[comparison.reference], "is_reference": is_ref,
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
    return out


def run_comparisons(patients: pd.DataFrame, comparisons=COMPARISONS,
                    endpoints=("pfs", "os"), *, strata: str = "center_id",
                    transform: str = "log", alpha: float = 0.05,
                    median_rule: str = "print") -> pd.DataFrame:
    """Run every comparison for every endpoint on a ``v_patient`` frame.

    Parameters
    ----------
    patients : pandas.DataFrame
        ``v_patient`` rows (see :func:`analysis.views.patients`); times in months.
    comparisons : iterable of Comparison
        Default :data:`COMPARISONS`.
    endpoints : iterable of str
        ``"pfs"`` and/or ``"os"``.
    strata : str
        Column stratifying the second log-rank test and the Cox model (center).
    transform : str
        Band transform for the median CIs (:data:`analysis.km.TRANSFORMS`).
    median_rule : str
        Median rule (:data:`analysis.km.MEDIAN_RULES`; ``print`` = R's print.survfit).

    Returns
    -------
    pandas.DataFrame
        One row per comparison x endpoint x group, columns :data:`RESULT_COLUMNS`:
        group label and value, the reference group's label, ``n``, ``events``, log-rank
        ``observed`` / ``expected`` events, KM ``median`` with CI (months, None = NR),
        ``chi2``/``df``/``p`` (unstratified), ``strat_chi2``/``strat_df``/``strat_p``
        (stratified by ``strata``), ``hr`` with 95% CI and Wald ``hr_p`` versus the
        reference (1 / NaN on the reference row) and ``hr_note``.
    """
    rows = [row for c in comparisons for ep in endpoints
            for row in compare(patients, c, ep, strata=strata, transform=transform, alpha=alpha,
                               median_rule=median_rule)]
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)
