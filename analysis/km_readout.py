"""What is read off a fitted Kaplan-Meier curve: landmark rates, numbers at risk under a plot,
median follow-up (reverse Kaplan-Meier), and the plan's endpoint curves.

All of it comes from the curve's step points (one row per distinct time) where it can, so a
million patients cost what their distinct times cost.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from harmonise.analysis.km import KaplanMeier, kaplan_meier

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


def at_ticks(km: KaplanMeier, ticks) -> pd.DataFrame:
    """:func:`number_at_risk` read off a fitted curve's step points (no subject needed).

    At each tick: ``at_risk`` = events + censorings at times >= tick, ``events`` and
    ``censored`` = those at times < tick; the same integers as :func:`number_at_risk` of
    the curve's subjects (missing times are in neither).
    """
    tab = km.table
    time = tab["time"].to_numpy(float)
    events = tab["events"].to_numpy(np.int64)
    censored = tab["censored"].to_numpy(np.int64)
    ev_before = np.concatenate([[0], np.cumsum(events)])    # sums over rows with time < tick
    ce_before = np.concatenate([[0], np.cumsum(censored)])
    rows = []
    for k in ticks:
        i = int(np.searchsorted(time, float(k), side="left"))   # rows before i: time < k
        rows.append({"time": float(k),
                     "at_risk": int(ev_before[-1] - ev_before[i] + ce_before[-1] - ce_before[i]),
                     "events": int(ev_before[i]), "censored": int(ce_before[i])})
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
