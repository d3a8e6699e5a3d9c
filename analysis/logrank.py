"""Log-rank tests for k groups: plain (lifelines) and stratified by center, with O/E.

Conventions
-----------
* Log-rank statistic for k groups: ``U = (O - E)' V^+ (O - E)`` with the hypergeometric
  variance (ties handled as R ``survdiff`` / lifelines / statsmodels do). ``V^+`` is the
  Moore-Penrose inverse, which equals the usual "drop one group" inverse because
  ``O - E`` always lies in the column space of ``V``. ``df`` = number of groups present
  minus 1 (lifelines and statsmodels' convention); ``p = P(chi2_df > U)``.
* The unstratified statistic and p-value are lifelines' ``multivariate_logrank_test``;
  observed/expected events per group come from :func:`observed_expected` (lifelines does
  not expose them). The stratified test sums per-stratum ``O - E`` and ``V``
  (:func:`stratified_logrank_test`); a group absent from a stratum contributes zero there.
* Not testable (no events, fewer than two groups, or a zero variance matrix): ``chi2`` and
  ``p`` are NaN and ``df`` is 0, never an exception.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from lifelines.statistics import multivariate_logrank_test
from scipy.stats import chi2 as chi2_dist


@dataclass(frozen=True)
class LogRank:
    """Result of a k-group log-rank test.

    Attributes
    ----------
    groups : tuple
        Group values, in the order of the arrays below.
    n, observed, expected : numpy.ndarray
        Subjects, observed events and expected events (under H0) per group; stratified
        tests sum the per-stratum values.
    variance : numpy.ndarray
        k x k variance-covariance matrix of ``O - E``.
    chi2 : float
        Test statistic (NaN when not testable).
    df : int
        Degrees of freedom (groups present - 1; 0 when not testable).
    p : float
        Chi-square p-value (NaN when not testable).
    stratified : bool
        Whether the test is stratified.
    """

    groups: tuple
    n: np.ndarray
    observed: np.ndarray
    expected: np.ndarray
    variance: np.ndarray
    chi2: float
    df: int
    p: float
    stratified: bool = False

    @property
    def summary(self) -> pd.DataFrame:
        """One row per group: group, n, observed, expected, o_minus_e, chi2, df, p, stratified."""
        return pd.DataFrame({
            "group": list(self.groups), "n": self.n, "observed": self.observed,
            "expected": self.expected, "o_minus_e": self.observed - self.expected,
            "chi2": self.chi2, "df": self.df, "p": self.p, "stratified": self.stratified})


def observed_expected(time, event, group, groups=None):
    """Observed and expected events per group and the variance of ``O - E`` (one stratum).

    At each distinct event time ``t_j`` with ``D_j`` events among ``N_j`` at risk
    (``n_gj`` in group g): ``E_g = sum_j D_j n_gj / N_j`` and
    ``V_gh = sum_j D_j (N_j - D_j) / (N_j - 1) * r_gj (delta_gh - r_hj)`` with
    ``r_gj = n_gj / N_j`` (terms with ``N_j = 1`` are 0). "At risk at t" means time >= t.

    Parameters
    ----------
    time, event, group : array_like
        Follow-up time, event flag (True = event), group value per subject.
    groups : sequence, optional
        Group values and their order (default: sorted distinct values of ``group``).
        Groups without subjects get zeros.

    Returns
    -------
    (groups, n, observed, expected, variance) : tuple
        ``groups`` as a tuple; the rest numpy arrays of length k (variance k x k).
    """
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=bool)
    g = np.asarray(group, dtype=object)
    groups = tuple(pd.unique(np.sort(g))) if groups is None else tuple(groups)
    member = np.array([g == value for value in groups], dtype=bool).reshape(len(groups), t.size)
    n = member.sum(axis=1).astype(float)
    event_times = np.unique(t[e])
    if event_times.size == 0 or len(groups) == 0:
        k = len(groups)
        return groups, n, np.zeros(k), np.zeros(k), np.zeros((k, k))
    at_risk = np.array([[np.sum(m & (t >= s)) for s in event_times] for m in member], float)
    deaths = np.array([[np.sum(m & e & (t == s)) for s in event_times] for m in member], float)
    total_risk, total_deaths = at_risk.sum(axis=0), deaths.sum(axis=0)
    share = at_risk / total_risk
    expected = (share * total_deaths).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        weight = np.where(total_risk > 1,
                          total_deaths * (total_risk - total_deaths) / (total_risk - 1), 0.0)
    variance = (np.diag((share * weight).sum(axis=1))
                - np.einsum("gj,hj,j->gh", share, share, weight))
    return groups, n, deaths.sum(axis=1), expected, variance


def chi2_statistic(observed, expected, variance, groups_present: int):
    """``(O - E)' V^+ (O - E)`` with its df and p-value.

    Parameters
    ----------
    observed, expected : array_like
        Per-group observed and expected events.
    variance : array_like
        Variance-covariance matrix of ``O - E``.
    groups_present : int
        Number of groups with at least one subject; ``df = groups_present - 1``.

    Returns
    -------
    (chi2, df, p) : tuple
        ``(nan, 0, nan)`` when the variance matrix is zero or fewer than two groups.
    """
    v = np.asarray(variance, dtype=float)
    diff = np.asarray(observed, dtype=float) - np.asarray(expected, dtype=float)
    df = int(groups_present) - 1
    if df < 1 or v.size == 0 or np.linalg.matrix_rank(v) == 0:
        return float("nan"), 0, float("nan")
    stat = float(diff @ np.linalg.pinv(v) @ diff)
    return stat, df, float(chi2_dist.sf(stat, df))


def logrank_test(time, event, group, groups=None) -> LogRank:
    """Unstratified k-group log-rank test (lifelines' statistic, our O/E).

    Parameters
    ----------
    time, event, group : array_like
        Follow-up time, event flag (True = event) and group value per subject.
    groups : sequence, optional
        Group values and order; listed groups with no subject appear with zeros.

    Returns
    -------
    LogRank
        ``chi2``, ``df``, ``p`` from lifelines ``multivariate_logrank_test`` (NaN / 0 when
        not testable, see module docstring), O, E and V from :func:`observed_expected`.
    """
    groups, n, obs, exp, var = observed_expected(time, event, group, groups)
    present = int((n > 0).sum())
    stat, df, p = chi2_statistic(obs, exp, var, present)
    if df >= 1:
        mask = np.isin(np.asarray(group, dtype=object), [x for x, m in zip(groups, n) if m > 0])
        res = multivariate_logrank_test(np.asarray(time, dtype=float)[mask],
                                        np.asarray(group, dtype=object)[mask].astype(str),
                                        np.asarray(event, dtype=bool)[mask])
        stat, df, p = float(res.test_statistic), int(res.degrees_of_freedom), float(res.p_value)
    return LogRank(groups, n, obs, exp, var, stat, df, p, stratified=False)


def stratified_logrank_test(time, event, group, strata, groups=None) -> LogRank:
    """Log-rank test stratified by ``strata`` (e.g. center).

    Per stratum, O, E and V come from :func:`observed_expected`; they are summed over
    strata and the statistic is :func:`chi2_statistic` of the sums (R
    ``survdiff(... + strata(center))``, statsmodels ``survdiff(strata=...)``). A group with
    no patient in a stratum contributes zero there; a stratum holding one group only
    contributes nothing.

    Returns
    -------
    LogRank
        With ``stratified=True``; ``n``, ``observed``, ``expected`` summed over strata.
    """
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=bool)
    g = np.asarray(group, dtype=object)
    s = np.asarray(strata, dtype=object)
    groups = tuple(pd.unique(np.sort(g))) if groups is None else tuple(groups)
    k = len(groups)
    n, obs, exp, var = np.zeros(k), np.zeros(k), np.zeros(k), np.zeros((k, k))
    for stratum in pd.unique(s):
        m = s == stratum
        _, n1, o1, e1, v1 = observed_expected(t[m], e[m], g[m], groups)
        n, obs, exp, var = n + n1, obs + o1, exp + e1, var + v1
    stat, df, p = chi2_statistic(obs, exp, var, int((n > 0).sum()))
    return LogRank(groups, n, obs, exp, var, stat, df, p, stratified=True)
