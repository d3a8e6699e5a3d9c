"""Log-rank tests for k groups, plain and stratified by center, with observed/expected events.

Conventions
-----------
* Log-rank statistic for k groups: ``U = (O - E)' V^- (O - E)`` with the hypergeometric
  variance (ties handled as R ``survdiff`` / lifelines / statsmodels do). ``V^-`` is the
  "drop one group" inverse (R, lifelines): the groups with a positive variance, less the
  last of them, solved exactly. (A Moore-Penrose ``pinv`` gives the same in exact
  arithmetic but keeps the round-off direction of a singular V: 0.3% off with a group of
  one.) ``df`` = number of groups present minus 1 (lifelines and statsmodels'
  convention); ``p = P(chi2_df > U)``.
* Observed/expected events per group and their variance come from
  :func:`observed_expected` (lifelines does not expose them); the statistic from
  :func:`chi2_statistic`, checked against lifelines' ``multivariate_logrank_test`` and R's
  ``survdiff``. The stratified test sums per-stratum ``O - E`` and ``V``
  (:func:`stratified_logrank_test`); a group absent from a stratum contributes zero there.
* Subjects with a missing time are dropped (R's ``na.action``) and counted (``missing``).
* Not testable (no events, fewer than two groups, or a zero variance matrix): ``chi2`` and
  ``p`` are NaN and ``df`` is 0, never an exception.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import chdtrc

from harmonise.analysis.risksets import (group_indices, risk_sets, stratified_risk_sets,
                                          values_of)


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
    missing : int
        Subjects dropped for a missing time (not in ``n``).
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
    missing: int = 0

    @property
    def summary(self) -> pd.DataFrame:
        """One row per group: group, n, observed, expected, o_minus_e, chi2, df, p, stratified."""
        return pd.DataFrame({
            "group": list(self.groups), "n": self.n, "observed": self.observed,
            "expected": self.expected, "o_minus_e": self.observed - self.expected,
            "chi2": self.chi2, "df": self.df, "p": self.p, "stratified": self.stratified})


def _clean(time, event, group, strata=None):
    """Drop subjects with a missing time (R's ``na.action``); return arrays and that count."""
    t = np.asarray(time, dtype=float)
    keep = ~np.isnan(t)
    arrays = [t[keep], np.asarray(event, dtype=bool)[keep], values_of(group)[keep]]
    if strata is not None:
        arrays.append(np.asarray(strata, dtype=object)[keep])
    return arrays, int((~keep).sum())


def observed_expected(time, event, group, groups=None):
    """Observed and expected events per group and the variance of ``O - E`` (one stratum).

    At each distinct event time ``t_j`` with ``D_j`` events among ``N_j`` at risk
    (``n_gj`` in group g): ``E_g = sum_j D_j n_gj / N_j`` and
    ``V_gh = sum_j D_j (N_j - D_j) / (N_j - 1) * r_gj (delta_gh - r_hj)`` with
    ``r_gj = n_gj / N_j`` (terms with ``N_j = 1`` are 0). "At risk at t" means time >= t.
    Counts come from :func:`analysis.risksets.risk_sets` (one column per distinct event
    time), so a million subjects cost a sort, not a loop.

    Parameters
    ----------
    time, event, group : array_like
        Follow-up time (no NaN: see :func:`logrank_test`), event flag (True = event),
        group value per subject.
    groups : sequence, optional
        Group values and their order (default: sorted distinct values of ``group``).
        Groups without subjects get zeros.

    Returns
    -------
    (groups, n, observed, expected, variance) : tuple
        ``groups`` as a tuple; the rest numpy arrays of length k (variance k x k).
    """
    g = values_of(group)
    groups = tuple(pd.unique(np.sort(g.astype(object)))) if groups is None else tuple(groups)
    k = len(groups)
    sets = risk_sets(time, event, group_indices(g, groups), k)
    return (groups, sets.n, *_oe_of(sets, k))


def _oe_of(sets, k: int):
    """Observed, expected and the variance of O - E summed over the risk sets' columns."""
    if sets.times.size == 0 or k == 0:
        return np.zeros(k), np.zeros(k), np.zeros((k, k))
    at_risk, deaths = sets.at_risk, sets.events
    total_risk, total_deaths = at_risk.sum(axis=0), deaths.sum(axis=0)
    share = at_risk / total_risk
    expected = (share * total_deaths).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        weight = np.where(total_risk > 1,
                          total_deaths * (total_risk - total_deaths) / (total_risk - 1), 0.0)
    variance = (np.diag((share * weight).sum(axis=1))
                - np.einsum("gj,hj,j->gh", share, share, weight))
    return deaths.sum(axis=1), expected, variance


def chi2_statistic(observed, expected, variance, groups_present: int):
    """``(O - E)' V^- (O - E)`` with its df and p-value (module docstring).

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
    if df < 1 or v.size == 0:
        return float("nan"), 0, float("nan")
    diag = np.diag(v)
    kept = np.flatnonzero(diag > 1e-12 * max(float(diag.max()), 1e-300))[:-1]
    if kept.size == 0:
        return float("nan"), 0, float("nan")
    try:
        stat = float(diff[kept] @ np.linalg.solve(v[np.ix_(kept, kept)], diff[kept]))
    except np.linalg.LinAlgError:
        stat = float(diff[kept] @ np.linalg.pinv(v[np.ix_(kept, kept)]) @ diff[kept])
    return stat, df, float(chdtrc(df, stat))   # P(chi2_df > stat), as scipy.stats.chi2.sf


def logrank_test(time, event, group, groups=None) -> LogRank:
    """Unstratified k-group log-rank test.

    Parameters
    ----------
    time, event, group : array_like
        Follow-up time, event flag (True = event) and group value per subject. Subjects
        with a missing time are dropped (as R's ``survdiff``) and counted in ``missing``.
    groups : sequence, optional
        Group values and order; listed groups with no subject appear with zeros.

    Returns
    -------
    LogRank
        O, E and V from :func:`observed_expected`, ``chi2``/``df``/``p`` from
        :func:`chi2_statistic` (NaN / 0 when not testable, see module docstring). The
        statistic equals lifelines' ``multivariate_logrank_test`` and R's ``survdiff``
        (tests/test_analysis_logrank.py, tests/test_r_oracle.py).
    """
    (t, e, g), missing = _clean(time, event, group)
    groups, n, obs, exp, var = observed_expected(t, e, g, groups)
    stat, df, p = chi2_statistic(obs, exp, var, int((n > 0).sum()))
    return LogRank(groups, n, obs, exp, var, stat, df, p, stratified=False, missing=missing)


def stratified_logrank_test(time, event, group, strata, groups=None) -> LogRank:
    """Log-rank test stratified by ``strata`` (e.g. center).

    Per stratum, O, E and V as in :func:`observed_expected` (computed for all strata at
    once from :func:`analysis.risksets.stratified_risk_sets`); they are summed over
    strata and the statistic is :func:`chi2_statistic` of the sums (R
    ``survdiff(... + strata(center))``, statsmodels ``survdiff(strata=...)``). A group with
    no patient in a stratum contributes zero there; a stratum holding one group only
    contributes nothing. Subjects with a missing time are dropped and counted.

    Returns
    -------
    LogRank
        With ``stratified=True``; ``n``, ``observed``, ``expected`` summed over strata.
    """
    (t, e, g, s), missing = _clean(time, event, group, strata)
    groups = tuple(pd.unique(np.sort(g.astype(object)))) if groups is None else tuple(groups)
    sets = stratified_risk_sets(t, e, group_indices(g, groups), pd.factorize(s)[0], len(groups))
    return stratified_logrank_of(sets, groups, missing)


def stratified_logrank_of(sets, groups, missing: int = 0) -> LogRank:
    """:func:`stratified_logrank_test` from risk sets already built
    (:func:`analysis.risksets.stratified_risk_sets` of every group in ``groups``' order)."""
    k = len(groups)
    obs, exp, var = _oe_of(sets, k)
    stat, df, p = chi2_statistic(obs, exp, var, int((sets.n > 0).sum()))
    return LogRank(tuple(groups), sets.n, obs, exp, var, stat, df, p, stratified=True,
                   missing=missing)
