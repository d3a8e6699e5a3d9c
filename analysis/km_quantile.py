"""Quantiles (the median) of a Kaplan-Meier step curve and of its band, by R's rules.

See :mod:`analysis.km` (module docstring, "Quantiles") for the rules in words.
"""
from __future__ import annotations

import numpy as np

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


def check_rule(rule: str) -> None:
    """ValueError naming the allowed median rules."""
    if rule not in MEDIAN_RULES:
        raise ValueError(f"median_rule must be one of {tuple(MEDIAN_RULES)}, got {rule!r}")


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
    check_rule(rule)
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
