"""Pointwise confidence bands of a Kaplan-Meier curve, by transform (see :mod:`analysis.km`).

``log``      ``S exp(-/+ z sqrt(c))``, upper clipped to 1 (R ``survfit`` default).
``log-log``  ``exp(-exp(log(-log S) -/+ z sqrt(c) / log S))`` (SAS and lifelines default).
``plain``    ``S -/+ z S sqrt(c)``, clipped to [0, 1] (R ``conf.type = "plain"``).

``c`` is the Greenwood sum. [1, 1] where S = 1; NaN where S = 0 (infinite Greenwood term).
"""
from __future__ import annotations

import numpy as np
from scipy.special import ndtri

TRANSFORMS = ("log", "log-log", "plain")
"""Band transforms: ``log`` (R default), ``log-log`` (SAS, lifelines), ``plain``."""


def check_transform(transform: str) -> None:
    """ValueError naming the allowed transforms."""
    if transform not in TRANSFORMS:
        raise ValueError(f"transform must be one of {TRANSFORMS}, got {transform!r}")


def z_quantile(alpha: float) -> float:
    """``Phi^-1(1 - alpha / 2)``, the two-sided normal quantile of every Wald interval here
    (what ``scipy.stats.norm.ppf`` computes, via ``ndtri``)."""
    return float(ndtri(1 - alpha / 2))


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
    z = z_quantile(alpha)
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


def log_log_band(surv, cum_sq, alpha):
    """``exp(-exp(log(-log S) -/+ z sqrt(c) / log S))``: [1, 1] where S = 1, NaN where S = 0."""
    z = z_quantile(alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.log(surv)
        lower = np.exp(-np.exp(np.log(-v) - z * np.sqrt(cum_sq) / v))
        upper = np.exp(-np.exp(np.log(-v) + z * np.sqrt(cum_sq) / v))
    top, dead = surv >= 1, ~(surv > 0)
    lower = np.where(top, 1.0, np.where(dead, np.nan, lower))
    upper = np.where(top, 1.0, np.where(dead, np.nan, upper))
    return lower, upper


def band(surv, cum_sq, transform: str, alpha: float):
    """(lower, upper) of the band named ``transform``."""
    if transform == "log-log":
        return log_log_band(surv, cum_sq, alpha)
    return confidence_band(surv, cum_sq, transform, alpha)
