"""Kaplan-Meier estimation: curve, pointwise confidence band, median, landmarks, at-risk.

Conventions
-----------
* Time unit: whatever the caller passes; the study passes **months** (``days /
  days_per_month`` of plan.yaml, the views' ``<endpoint>_months`` columns).
* Curve and Greenwood variance from the step points (one row per distinct time:
  numbers at risk ``n_i``, events ``d_i``; a sort, not a per-subject loop, so a million
  patients cost milliseconds): ``S(t) = prod_{t_i <= t} (1 - d_i / n_i)``, Greenwood sum
  ``c(t) = sum_{t_i <= t} d_i / (n_i (n_i - d_i))``, ``SE[S(t)] = S(t) sqrt(c(t))`` and
  ``SE[log S(t)] = sqrt(c(t))``. Checked against lifelines ``KaplanMeierFitter``,
  statsmodels ``SurvfuncRight`` and R ``survfit`` (tests).
* Pointwise 95% band (``alpha = 0.05``), ``z = Phi^-1(1 - alpha/2)``, transform chosen by
  name and recorded in every output (``transform`` column / attribute):

  ``log``      ``S exp(-/+ z sqrt(c))``, upper clipped to 1 (R ``survfit`` default).
  ``log-log``  ``exp(-exp(log(-log S) -/+ z sqrt(c) / log S))`` (SAS and lifelines default;
               R gives NA where S = 1, this module [1, 1] as for the other transforms).
  ``plain``    ``S -/+ z S sqrt(c)``, clipped to [0, 1] (R ``conf.type = "plain"``).

  Where ``S(t) = 1`` (before the first event) the band is [1, 1]. Where ``S(t) = 0`` the
  Greenwood term ``d / (n (n - d))`` has ``n = d`` and is infinite: the standard error
  and the band are NaN there, as in R.
* Quantiles (median) follow R's ``print.survfit`` by default (``median_rule="print"``,
  what readers and most papers quote): the median is the first time ``S(t) <= 0.5``; when
  the curve sits *exactly* at 0.5 (within ``sqrt(machine eps)``) over a horizontal stretch
  and drops again later, the median is the midpoint of that stretch (from the time the
  curve reaches 0.5 to the next drop); when it stays at 0.5 to the end of follow-up, the
  median is the start of the stretch. ``median_rule="midpoint"`` is R's
  ``quantile.survfit``: the midpoint also when the stretch runs to the end (to the last
  observed time). CI limits are the same rule applied to the lower band (lower limit) and
  the upper band (upper limit). A quantile that is never reached is ``None`` ("NR"); so is
  a CI limit whose band never reaches 0.5 or is NaN. (lifelines' ``median_survival_time_``
  takes the first time ``S <= 0.5`` without the midpoint rule; statsmodels takes the
  first time ``S < 0.5``, SAS's strict rule.)
* Missing times (NaN) are dropped, as R's ``na.action`` does, and counted (``missing``).

Modules: this one the estimator (:func:`kaplan_meier`); :mod:`analysis.km_band` the bands,
:mod:`analysis.km_quantile` the median rules, :mod:`analysis.km_readout` what is read off a
fitted curve (landmarks, numbers at risk, reverse-KM follow-up). Their names are also
importable from here.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from harmonise.analysis.km_band import TRANSFORMS, band, check_transform, confidence_band  # noqa: F401
from harmonise.analysis.km_quantile import (MEDIAN_RULES, QUANTILE_TOL,  # noqa: F401
                                            check_rule, survival_quantile)

TABLE_COLUMNS = ["time", "at_risk", "events", "censored", "survival", "std_err",
                 "lower", "upper", "transform"]


@dataclass(frozen=True)
class KaplanMeier:
    """A fitted Kaplan-Meier curve with its band and median.

    Attributes
    ----------
    label : str
        Name of the curve (group).
    transform : str
        Band transform, one of :data:`analysis.km_band.TRANSFORMS`.
    conf_level : float
        Coverage of the pointwise band and the median CI (0.95 by default).
    n, events : int
        Number of subjects and of observed events.
    table : pandas.DataFrame
        One row per distinct time (0 and every observed time): ``time``, ``at_risk``
        (subjects with time >= t), ``events``, ``censored`` (at t), ``survival``,
        ``std_err`` (Greenwood SE of S), ``lower``, ``upper``, ``transform``.
    median, median_lower, median_upper : float or None
        Median and its CI limits (``median_rule``, see module docstring); None = not reached.
    missing : int
        Subjects dropped for a missing time (not in ``n``).
    median_rule : str
        One of :data:`analysis.km_quantile.MEDIAN_RULES`.
    """

    label: str
    transform: str
    conf_level: float
    n: int
    events: int
    table: pd.DataFrame
    median: float | None
    median_lower: float | None
    median_upper: float | None
    missing: int = 0
    median_rule: str = "print"

    @property
    def summary(self) -> pd.DataFrame:
        """One row: label, n, events, median, median_lower, median_upper, transform, conf_level."""
        return pd.DataFrame([{
            "label": self.label, "n": self.n, "events": self.events,
            "median": self.median, "median_lower": self.median_lower,
            "median_upper": self.median_upper, "transform": self.transform,
            "conf_level": self.conf_level}])


def _empty_table() -> pd.DataFrame:
    table = pd.DataFrame({c: pd.Series(dtype=float) for c in TABLE_COLUMNS})
    table["transform"] = pd.Series(dtype=object)
    return table


def _counts(t: np.ndarray, e: np.ndarray):
    """Step points: time 0 and every distinct observed time, with the numbers at risk
    (time >= t), events and censorings at t (one sort; no per-subject loop)."""
    times, inverse = np.unique(np.concatenate([[0.0], t]), return_inverse=True)
    inverse = inverse[1:]
    total = np.bincount(inverse, minlength=times.size).astype(float)
    deaths = np.bincount(inverse, weights=e.astype(float), minlength=times.size)
    at_risk = np.cumsum(total[::-1])[::-1]
    return times, at_risk, deaths, total - deaths


def kaplan_meier(time, event, *, transform: str = "log", alpha: float = 0.05,
                 label: str = "all", median_rule: str = "print") -> KaplanMeier:
    """Kaplan-Meier curve with Greenwood SE, pointwise band and median (R's rules).

    Parameters
    ----------
    time : array_like
        Follow-up times (months in this study), >= 0. Rows with a missing time are dropped
        and counted in ``missing``.
    event : array_like of bool
        True where the event was observed, False where censored.
    transform : {"log", "log-log", "plain"}
        Band transform (see module docstring); recorded in the result.
    alpha : float
        Band and median-CI level is ``1 - alpha``.
    label : str
        Name of the curve.
    median_rule : {"print", "midpoint"}
        Median rule (:data:`MEDIAN_RULES`); ``print`` = what ``print(survfit)`` shows.

    Returns
    -------
    KaplanMeier
        An empty selection gives n = 0, an empty table and median None. No events gives a
        flat curve at 1 and median None (NR).
    """
    check_transform(transform)
    check_rule(median_rule)
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=bool)
    keep = ~np.isnan(t)
    t, e = t[keep], e[keep]
    missing = int((~keep).sum())
    conf = 1.0 - alpha
    if t.size == 0:
        return KaplanMeier(label, transform, conf, 0, 0, _empty_table(), None, None, None,
                           missing, median_rule)

    timeline, at_risk, deaths, censored = _counts(t, e)
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(1.0 - deaths / at_risk)
        cum_sq = np.cumsum(np.where(deaths > 0, deaths / (at_risk * (at_risk - deaths)), 0.0))
    with np.errstate(invalid="ignore"):               # S = 0 times an infinite sum: NaN
        std_err = np.where(surv > 0, surv * np.sqrt(cum_sq), np.nan)
    lower, upper = band(surv, cum_sq, transform, alpha)

    table = pd.DataFrame({
        "time": timeline, "at_risk": at_risk.astype(int), "events": deaths.astype(int),
        "censored": censored.astype(int),
        "survival": surv, "std_err": std_err, "lower": lower, "upper": upper,
        "transform": transform})
    last = float(t.max())
    return KaplanMeier(
        label=label, transform=transform, conf_level=conf, n=int(t.size), events=int(e.sum()),
        table=table,
        median=survival_quantile(table["time"], surv, last_time=last, rule=median_rule),
        median_lower=survival_quantile(table["time"], lower, last_time=last, rule=median_rule),
        median_upper=survival_quantile(table["time"], upper, last_time=last, rule=median_rule),
        missing=missing, median_rule=median_rule)


# What is read off a fitted curve lives in km_readout (which imports this module's estimator).
from harmonise.analysis.km_readout import (at_ticks, endpoint_curve, landmark_rates,  # noqa: E402,F401
                                           median_followup, number_at_risk, survival_at)
