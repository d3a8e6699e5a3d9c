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
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

TRANSFORMS = ("log", "log-log", "plain")
"""Band transforms: ``log`` (R default), ``log-log`` (SAS, lifelines), ``plain``."""

MEDIAN_RULES = {
    "print": "R print.survfit: first time S(t) <= 0.5; on an exact 0.5 plateau the midpoint "
             "to the next drop, or the start of the plateau when it lasts to the end of "
             "follow-up",
    "midpoint": "R quantile.survfit: first time S(t) <= 0.5; on an exact 0.5 plateau the "
                "midpoint to the next drop or to the last observed time",
}
"""Median rules by name, with the words a methods section uses."""

QUANTILE_TOL = float(np.sqrt(np.finfo(float).eps))
"""Tolerance of the exact-0.5 plateau test (R: ``sqrt(.Machine$double.eps)``)."""

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
        Band transform, one of :data:`TRANSFORMS`.
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
        One of :data:`MEDIAN_RULES`.
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


def _check_rule(rule: str) -> None:
    if rule not in MEDIAN_RULES:
        raise ValueError(f"median_rule must be one of {tuple(MEDIAN_RULES)}, got {rule!r}")


def _check_transform(transform: str) -> None:
    if transform not in TRANSFORMS:
        raise ValueError(f"transform must be one of {TRANSFORMS}, got {transform!r}")


def confidence_band(survival, cumulative_sq, transform: str = "log", alpha: float = 0.05):
    """Pointwise band of a Kaplan-Meier curve for the ``log`` or ``plain`` transform.

    Parameters
    ----------
    survival : array_like
        Kaplan-Meier estimate S(t).
    cumulative_sq : array_like
        Greenwood sum ``c(t) = sum d_i / (n_i (n_i - d_i))`` (variance of log S).
    transform : {"log", "plain"}
        ``log``: ``S exp(-/+ z sqrt(c))`` with the upper limit clipped to 1;
        ``plain``: ``S -/+ z S sqrt(c)`` clipped to [0, 1]. (``log-log``: see
        :func:`kaplan_meier`.)
    alpha : float
        Two-sided level, ``z = Phi^-1(1 - alpha / 2)``.

    Returns
    -------
    (lower, upper) : tuple of numpy arrays
        [1, 1] where S = 1; NaN where S = 0 (undefined Greenwood variance) or where
        ``cumulative_sq`` is not finite.
    """
    if transform not in ("log", "plain"):
        raise ValueError(f"confidence_band handles 'log' and 'plain', got {transform!r}")
    s = np.asarray(survival, dtype=float)
    se_log = np.sqrt(np.asarray(cumulative_sq, dtype=float))
    z = norm.ppf(1 - alpha / 2)
    with np.errstate(invalid="ignore"):               # S = 0 times an infinite sum: NaN
        if transform == "log":
            lower, upper = s * np.exp(-z * se_log), np.minimum(s * np.exp(z * se_log), 1.0)
        else:
            lower = np.clip(s - z * s * se_log, 0.0, 1.0)
            upper = np.clip(s + z * s * se_log, 0.0, 1.0)
    undefined = (s <= 0) | ~np.isfinite(se_log)
    lower, upper = np.where(undefined, np.nan, lower), np.where(undefined, np.nan, upper)
    top = s >= 1
    return np.where(top, 1.0, lower), np.where(top, 1.0, upper)


def survival_quantile(times, values, prob: float = 0.5, *, last_time: float | None = None,
                      tol: float = QUANTILE_TOL, rule: str = "print") -> float | None:
    """Time at which a non-increasing step curve first reaches ``1 - prob`` (R's rules).

    Parameters
    ----------
    times : array_like
        Increasing times at which the curve is given (event and censoring times).
    values : array_like
        Curve value on ``[times[i], times[i + 1])`` (survival or a band); NaN points are
        ignored, as R's ``approx`` does.
    prob : float
        Quantile probability of the distribution: 0.5 gives the median, i.e. the level
        ``S = 0.5``.
    last_time : float, optional
        End of the last horizontal stretch (R: the last observed time); defaults to
        ``times[-1]``.
    tol : float
        Values within ``tol`` of the level count as exactly on it.
    rule : {"print", "midpoint"}
        What an exact plateau at the level gives when it lasts to the end (see
        :data:`MEDIAN_RULES`).

    Returns
    -------
    float or None
        The first time the curve is ``<= 1 - prob``; if the curve equals ``1 - prob``
        exactly on a stretch, the midpoint of that stretch to the next drop; a stretch
        lasting to the end gives its start (``print``) or the midpoint to ``last_time``
        (``midpoint``). None when the level is never reached (NR).
    """
    _check_rule(rule)
    t = np.asarray(times, dtype=float)
    v = np.asarray(values, dtype=float)
    if t.size == 0:
        return None
    end = float(t[-1]) if last_time is None else float(last_time)
    keep = ~np.isnan(v)
    t, v = t[keep], v[keep]
    level = 1.0 - prob
    hit = np.flatnonzero(v <= level + tol)
    if hit.size == 0:
        return None
    first = hit[0]
    if abs(v[first] - level) >= tol:
        return float(t[first])
    below = np.flatnonzero(v < level - tol)
    if not below.size and rule == "print":
        return float(t[first])
    stretch_end = float(t[below[0]]) if below.size else end
    return (float(t[first]) + stretch_end) / 2.0


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


def _log_log_band(surv, cum_sq, alpha):
    """``exp(-exp(log(-log S) -/+ z sqrt(c) / log S))``: [1, 1] where S = 1, NaN where S = 0."""
    z = norm.ppf(1 - alpha / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.log(surv)
        lower = np.exp(-np.exp(np.log(-v) - z * np.sqrt(cum_sq) / v))
        upper = np.exp(-np.exp(np.log(-v) + z * np.sqrt(cum_sq) / v))
    top, dead = surv >= 1, ~(surv > 0)
    lower = np.where(top, 1.0, np.where(dead, np.nan, lower))
    upper = np.where(top, 1.0, np.where(dead, np.nan, upper))
    return lower, upper


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
    _check_transform(transform)
    _check_rule(median_rule)
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
    if transform == "log-log":
        lower, upper = _log_log_band(surv, cum_sq, alpha)
    else:
        lower, upper = confidence_band(surv, cum_sq, transform, alpha)

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


def survival_at(km: KaplanMeier, times) -> pd.DataFrame:
    """Survival and its band at given times (landmark rates), read off the step curve.

    Parameters
    ----------
    km : KaplanMeier
        A fitted curve.
    times : iterable of float
        Landmark times, in the curve's unit (months for the study).

    Returns
    -------
    pandas.DataFrame
        Columns ``time``, ``survival``, ``lower``, ``upper``, ``at_risk`` (subjects with
        time >= landmark), ``transform``. S(t) is the value of the right-continuous curve
        (events at t included). Beyond the last observed time the curve is unknown: NaN,
        unless it has already dropped to 0 (then 0 with a NaN band). Empty curve: NaN.
    """
    tab = km.table
    rows = []
    for at in times:
        at = float(at)
        if tab.empty:
            row = {"survival": np.nan, "lower": np.nan, "upper": np.nan, "at_risk": 0}
        else:
            i = int(np.searchsorted(tab["time"].to_numpy(), at, side="right")) - 1
            s, lo, up = (tab[c].iloc[max(i, 0)] for c in ("survival", "lower", "upper"))
            if at > tab["time"].iloc[-1] and s > 0:
                s, lo, up = np.nan, np.nan, np.nan
            at_risk = int(tab.loc[tab["time"] >= at, "events"].sum()
                          + tab.loc[tab["time"] >= at, "censored"].sum())
            row = {"survival": s, "lower": lo, "upper": up, "at_risk": at_risk}
        rows.append({"time": at, **row, "transform": km.transform})
    return pd.DataFrame(rows, columns=["time", "survival", "lower", "upper", "at_risk",
                                       "transform"])


def number_at_risk(time, event, ticks) -> pd.DataFrame:
    """Numbers at risk under a Kaplan-Meier plot.

    Parameters
    ----------
    time, event : array_like
        Follow-up times and event flags (True = event).
    ticks : iterable of float
        Times at which to count.

    Returns
    -------
    pandas.DataFrame
        ``time``, ``at_risk`` = #(time >= tick), ``events`` and ``censored`` = numbers with
        time < tick by status, so ``at_risk + events + censored = n`` at every tick.
    """
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=bool)
    rows = [{"time": float(k), "at_risk": int((t >= k).sum()),
             "events": int(((t < k) & e).sum()), "censored": int(((t < k) & ~e).sum())}
            for k in ticks]
    return pd.DataFrame(rows, columns=["time", "at_risk", "events", "censored"])


def median_followup(time, event, *, transform: str = "log", alpha: float = 0.05,
                    median_rule: str = "print") -> pd.DataFrame:
    """Median follow-up by the reverse Kaplan-Meier method.

    The Kaplan-Meier estimator is applied with the roles swapped: censoring is the
    "event" and the event is a censoring. Median and CI by ``median_rule`` (module docstring).

    Returns
    -------
    pandas.DataFrame
        One row: ``method`` ("reverse Kaplan-Meier"), ``n``, ``censored`` (number of
        censored subjects, the reverse curve's events), ``median``, ``median_lower``,
        ``median_upper``, ``transform``, ``conf_level``. Median None when no subject is
        censored (the reverse curve never drops).
    """
    e = np.asarray(event, dtype=bool)
    km = kaplan_meier(time, ~e, transform=transform, alpha=alpha, label="reverse KM",
                      median_rule=median_rule)
    return pd.DataFrame([{
        "method": "reverse Kaplan-Meier", "n": km.n, "censored": km.events,
        "median": km.median, "median_lower": km.median_lower,
        "median_upper": km.median_upper, "transform": km.transform,
        "conf_level": km.conf_level}])


def endpoint_curve(patients: pd.DataFrame, endpoint: str, *, transform: str = "log",
                   alpha: float = 0.05, label: str = "all",
                   median_rule: str = "print") -> KaplanMeier:
    """Kaplan-Meier curve of an endpoint of the plan (``"pfs"``: columns ``pfs_months`` and
    ``pfs_event`` of ``v_patient``)."""
    return kaplan_meier(patients[f"{endpoint}_months"],
                        patients[f"{endpoint}_event"].astype(bool),
                        transform=transform, alpha=alpha, label=label, median_rule=median_rule)


def landmark_rates(patients: pd.DataFrame, landmarks: dict, *, transform: str = "log",
                   alpha: float = 0.05, curves: dict | None = None) -> pd.DataFrame:
    """Landmark rates with band limits: ``landmarks`` = ``{endpoint: times}`` (the plan's).

    ``curves``: already fitted :class:`KaplanMeier` curves by endpoint (fitted here when
    missing).

    Returns
    -------
    pandas.DataFrame
        :func:`survival_at` rows with an ``endpoint`` column first.
    """
    curves = curves or {}
    frames = [survival_at(curves.get(endpoint) or endpoint_curve(
        patients, endpoint, transform=transform, alpha=alpha), months).assign(endpoint=endpoint)
              for endpoint, months in landmarks.items()]
    if not frames:
        return pd.DataFrame(columns=["endpoint", "time", "survival", "lower", "upper",
                                     "at_risk", "transform"])
    out = pd.concat(frames, ignore_index=True)
    return out[["endpoint"] + [c for c in out.columns if c != "endpoint"]]
