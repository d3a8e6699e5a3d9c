"""Hazard ratios from a Cox proportional-hazards model, optionally stratified by center.

The model holds one indicator per non-reference group; ``strata`` (center) gives each
stratum its own baseline hazard; ties by Efron's method; Wald CI ``exp(beta -/+ z se)``
and Wald p. With group indicators only, Efron's partial likelihood depends on the data
through the risk sets alone (:mod:`analysis.risksets`: per stratum and distinct event
time, numbers at risk and events per group), so it is maximised on those counts by
Newton-Raphson with step halving (as R's ``coxph``), to ``|step| < 1e-10``: a million
patients cost one sort. lifelines' ``CoxPHFitter`` fits the subjects themselves, stops
at hazard ratios up to 1e-4 from R's maximum by default, and halts on some strata (one
patient in a stratum, a tiny group); the results are checked against R's ``coxph``
(tests/test_r_oracle.py), lifelines and statsmodels ``PHReg`` (tests/test_analysis_cox.py).

Not estimable, with a ``note`` and NaN, never an exception: an empty group, the reference
without events (every ratio is infinite), an infinite estimate (monotone likelihood, e.g.
all of a group's events precede the reference's within each stratum). A group without
events has an infinite log hazard ratio (HR 0): it is flagged and left out of the model,
which is the limit R's ``coxph`` approaches (its coefficient runs to -infinity and that
group's subjects vanish from the risk sets), so the other groups keep their finite ratios.
Subjects with a missing time are dropped, as R does.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtr

from harmonise.analysis.km_band import z_quantile
from harmonise.analysis.risksets import group_indices, stratified_risk_sets, values_of

HR_COLUMNS = ["group", "reference", "hr", "hr_lower", "hr_upper", "hr_p", "note"]

MAX_ITER, STEP_TOL, MAX_LOG_HR = 100, 1e-10, 15.0
"""Newton-Raphson limits; an estimate beyond ``|log HR| = 15`` is taken as infinite."""

NOTES = {
    "empty": "not estimable: no patient in the group",
    "no_event": "not estimable: no event in the group (hazard ratio 0, infinite log HR)",
    "no_event_reference": "not estimable: no event in the reference group",
    "infinite": "not estimable: infinite estimate (monotone likelihood)",
    "not_converged": "not estimable: the model did not converge",
}
"""Why a hazard ratio is withheld, in words a clinical table can show."""


def _hr_rows(groups, reference, note):
    return pd.DataFrame([{"group": x, "reference": reference, "hr": np.nan, "hr_lower": np.nan,
                          "hr_upper": np.nan, "hr_p": np.nan, "note": note}
                         for x in groups if x != reference], columns=HR_COLUMNS)


def _stack(sets):
    """Risk sets of all strata side by side, each event time expanded to its tied deaths:
    ``(events, Efron's risk per group and death)``: ``at_risk - (l / D) events`` for the
    l-th of D tied deaths, which does not depend on beta (computed once per fit)."""
    at_risk = np.concatenate([s.at_risk for s in sets], axis=1)
    events = np.concatenate([s.events for s in sets], axis=1)
    ties = events.sum(axis=0).astype(np.int64)
    column = np.repeat(np.arange(ties.size), ties)
    start = np.cumsum(ties) - ties
    fraction = (np.arange(column.size) - start[column]) / ties[column]
    return events, at_risk[:, column] - fraction * events[:, column]


def _efron(beta, events, risk):
    """Log partial likelihood, score and information at ``beta`` (reference = index 0);
    ``risk``: Efron's risk per group and death (:func:`_stack`)."""
    b = np.concatenate([[0.0], beta])
    w = np.exp(b)[:, None]
    a = w * risk                                       # k x deaths: Efron's weighted risk
    denom = a.sum(axis=0)
    share = a / denom
    loglik = float((events.sum(axis=1) * b).sum() - np.log(denom).sum())
    score = events.sum(axis=1)[1:] - share[1:].sum(axis=1)
    info = np.diag(share[1:].sum(axis=1)) - share[1:] @ share[1:].T
    return loglik, score, info


def _fit(sets):
    """Newton-Raphson with step halving; returns (beta, covariance, converged)."""
    events, risk = _stack(sets)
    beta = np.zeros(events.shape[0] - 1)
    loglik, score, info = _efron(beta, events, risk)
    for _ in range(MAX_ITER):
        try:
            step = np.linalg.solve(info, score)
        except np.linalg.LinAlgError:
            return beta, None, False
        for _ in range(60):                            # halve until the likelihood rises
            trial = beta + step
            new = _efron(trial, events, risk)
            if np.isfinite(new[0]) and new[0] >= loglik - 1e-12 * abs(loglik):
                break
            step = step / 2
        beta, (loglik, score, info) = trial, new
        if np.max(np.abs(step)) < STEP_TOL or np.max(np.abs(beta)) > 2 * MAX_LOG_HR:
            break
    try:
        cov = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        return beta, None, False
    return beta, cov, bool(np.max(np.abs(step)) < STEP_TOL)


def cox_hazard_ratios(time, event, group, *, reference, groups=None, strata=None,
                      alpha: float = 0.05, sets=None) -> pd.DataFrame:
    """Hazard ratios of each group versus ``reference`` from a (stratified) Cox model.

    Efron's ties; one indicator per non-reference group; ``strata`` (e.g. center) gives
    each stratum its own baseline hazard. CI: Wald, ``exp(beta -/+ z se)`` (module
    docstring).

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
    sets : analysis.risksets.RiskSets, optional
        The stratified risk sets of every group of ``groups`` (in that order), already built
        from these subjects (without missing times) and ``strata``: the model reads its
        groups' rows instead of building them again (the same counts).

    Returns
    -------
    pandas.DataFrame
        One row per non-reference group: ``group``, ``reference``, ``hr``, ``hr_lower``,
        ``hr_upper``, ``hr_p`` (Wald), ``note``. NaN with a note (:data:`NOTES`) when the
        group is empty or has no events, when the reference has no events, or when the
        estimate is infinite; the other groups keep their ratios (module docstring).
    """
    t = np.asarray(time, dtype=float)
    keep = ~np.isnan(t)
    t = t[keep]
    e = np.asarray(event, dtype=bool)[keep]
    g = values_of(group)[keep]
    groups = tuple(pd.unique(np.sort(g.astype(object)))) if groups is None else tuple(groups)
    others = [x for x in groups if x != reference]
    if not others:
        return _hr_rows(groups, reference, "")
    index = group_indices(g, groups)                   # each subject's group, matched once
    listed = index >= 0
    n = np.bincount(index[listed], minlength=len(groups))
    events = np.bincount(index[listed], weights=e[listed], minlength=len(groups))

    def events_in(value):
        return int(events[groups.index(value)])

    if events_in(reference) == 0:
        return _hr_rows(groups, reference, NOTES["no_event_reference"])
    out = _hr_rows(groups, reference, "")
    empty = [x for x in others if n[groups.index(x)] == 0]
    no_event = [x for x in others if x not in empty and events_in(x) == 0]
    fitted = [x for x in others if x not in empty and x not in no_event]
    out.loc[out["group"].isin(empty), "note"] = NOTES["empty"]
    out.loc[out["group"].isin(no_event), "note"] = NOTES["no_event"]
    if not fitted:
        return out
    in_model = [groups.index(x) for x in (reference, *fitted)]
    if sets is not None:
        sets = sets.of_groups(in_model)
    else:
        position = np.full(len(groups) + 1, -1, dtype=np.int64)   # the last: not listed
        position[in_model] = np.arange(len(in_model))
        stratum = (np.zeros(t.size, dtype=np.int64) if strata is None
                   else pd.factorize(pd.Series(np.asarray(strata, dtype=object)[keep]))[0])
        sets = stratified_risk_sets(t, e, position[index], stratum, len(in_model))
    beta, cov, converged = _fit([sets]) if sets.times.size else (None, None, False)
    z = z_quantile(alpha)
    for i, x in enumerate(fitted):
        sel = out["group"] == x
        se = np.sqrt(cov[i, i]) if cov is not None and cov[i, i] > 0 else np.nan
        if beta is None or abs(beta[i]) > MAX_LOG_HR or not np.isfinite(se):
            out.loc[sel, "note"] = NOTES["infinite"]
            continue
        if not converged:
            out.loc[sel, "note"] = NOTES["not_converged"]
            continue
        out.loc[sel, "hr"] = float(np.exp(beta[i]))
        out.loc[sel, "hr_lower"] = float(np.exp(beta[i] - z * se))
        out.loc[sel, "hr_upper"] = float(np.exp(beta[i] + z * se))
        out.loc[sel, "hr_p"] = float(2 * ndtr(-abs(beta[i]) / se))   # 2 P(Z > |z|), as norm.sf
    return out
