"""Hazard ratios from a Cox proportional-hazards model, optionally stratified by center.

lifelines ``CoxPHFitter`` with Efron's tie handling, one indicator per non-reference group,
``strata`` giving each stratum (center) its own baseline hazard; Wald 95% CI
``exp(beta -/+ z se)``. NaN with a ``note`` when not estimable (empty group, a group or
the reference without events, failed or non-converged fit), never an exception.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter
from lifelines.exceptions import ConvergenceError, ConvergenceWarning

HR_COLUMNS = ["group", "reference", "hr", "hr_lower", "hr_upper", "hr_p", "note"]


def _hr_rows(groups, reference, note):
    return pd.DataFrame([{"group": x, "reference": reference, "hr": np.nan, "hr_lower": np.nan,
                          "hr_upper": np.nan, "hr_p": np.nan, "note": note}
                         for x in groups if x != reference], columns=HR_COLUMNS)


def cox_hazard_ratios(time, event, group, *, reference, groups=None, strata=None,
                      alpha: float = 0.05) -> pd.DataFrame:
    """Hazard ratios of each group versus ``reference`` from a (stratified) Cox model.

    lifelines ``CoxPHFitter`` with Efron's tie handling; the model holds one indicator per
    non-reference group; ``strata`` (e.g. center) gives each stratum its own baseline
    hazard. CI: Wald, ``exp(beta -/+ z se)``.

    Parameters
    ----------
    time, event, group : array_like
        Follow-up time, event flag (True = event), group value per subject.
    reference : object
        Group value of the reference (HR = 1).
    groups : sequence, optional
        All group values (default: sorted distinct values).
    strata : array_like, optional
        Stratum per subject; None fits an unstratified model.
    alpha : float
        CI level ``1 - alpha``.

    Returns
    -------
    pandas.DataFrame
        One row per non-reference group: ``group``, ``reference``, ``hr``, ``hr_lower``,
        ``hr_upper``, ``hr_p`` (Wald), ``note``. NaN with a note when the reference or the
        group is empty or has no events (the likelihood has no finite maximum), or when the
        fit fails or does not converge.
    """
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=bool)
    g = np.asarray(group, dtype=object)
    groups = tuple(pd.unique(np.sort(g))) if groups is None else tuple(groups)
    others = [x for x in groups if x != reference]
    if not others:
        return _hr_rows(groups, reference, "")

    def events_in(value):
        return int(e[g == value].sum())

    if events_in(reference) == 0:
        return _hr_rows(groups, reference, "not estimable: no event in the reference group")
    fitted = [x for x in others if (g == x).any()]
    frame = pd.DataFrame({"time": t, "event": e.astype(int)})
    for i, x in enumerate(fitted):
        frame[f"g{i}"] = (g == x).astype(float)
    if strata is not None:
        frame["stratum"] = np.asarray(strata, dtype=object).astype(str)
    out = _hr_rows(groups, reference, "")
    out.loc[~out["group"].isin(fitted), "note"] = "not estimable: empty group"
    no_event = [x for x in fitted if events_in(x) == 0]
    out.loc[out["group"].isin(no_event), "note"] = "not estimable: no event in the group"
    if not fitted or no_event:
        if no_event:
            out.loc[out["note"] == "", "note"] = "not estimated: another group has no event"
        return out
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")                  # numerical noise of failed steps
            warnings.simplefilter("error", ConvergenceWarning)
            cph = CoxPHFitter(alpha=alpha, strata=["stratum"] if strata is not None else None)
            cph.fit(frame, duration_col="time", event_col="event")
    except (ConvergenceError, ConvergenceWarning, np.linalg.LinAlgError, ValueError) as exc:
        out.loc[out["group"].isin(fitted), "note"] = f"not estimable: {type(exc).__name__}"
        return out
    summ = cph.summary
    if not np.isfinite(summ[["coef", "se(coef)"]].to_numpy()).all():
        out.loc[out["group"].isin(fitted), "note"] = "not estimable: non-finite estimate"
        return out
    for i, x in enumerate(fitted):
        row = summ.loc[f"g{i}"]
        sel = out["group"] == x
        out.loc[sel, "hr"] = float(row["exp(coef)"])
        out.loc[sel, "hr_lower"] = float(np.exp(row["coef lower %g%%" % (100 * (1 - alpha))]))
        out.loc[sel, "hr_upper"] = float(np.exp(row["coef upper %g%%" % (100 * (1 - alpha))]))
        out.loc[sel, "hr_p"] = float(row["p"])
    return out
