"""The cohort's outcomes and calendar: scores, best response, latent PFS/OS, discontinuation, dates."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from harmonise.demo.cohort_spec import (BOR_COUNTS, CASE_BEST_RESPONSE, CASE_UPS_MONTHS_AFTER_STOP,
                                        CASE_UPS_MONTHS_ON_TREATMENT, CENTERS, CUTOFF,
                                        DISCONTINUATION_COUNTS, SENSITIVE, SurvivalModel)
from harmonise.demo.draws import (days, expand, months, quantile_curve, stratified_normal,
                                  stratified_uniform)


def scores(df: pd.DataFrame, model: SurvivalModel, rng) -> tuple[np.ndarray, np.ndarray]:
    """Prognostic scores (higher = longer) for PFS and OS."""
    n = len(df)
    asps = (df["histology"] == "ASPS").to_numpy()
    early = (df["line_of_therapy"] <= 2).to_numpy()
    cls = df["regimen_class"].to_numpy()
    sensitive = df["histology"].isin(SENSITIVE).to_numpy()
    eps, eta = stratified_normal(n, rng), stratified_normal(n, rng)
    rho = model.os_noise_corr
    noise = (eps, rho * eps + math.sqrt(1 - rho**2) * eta)
    scores = []
    for k in (0, 1):
        s = (model.asps[k] * asps
             + model.early_line_asps[k] * (early & asps)
             + model.early_line_other[k] * (early & ~asps)
             + model.monotherapy[k] * (cls == "I")
             + model.triplet[k] * (cls == "I+A+C")
             + model.chemo_doublet[k] * (cls == "I+C")
             + model.sensitive[k] * sensitive
             + model.noise * noise[k])
        scores.append(s)
    return scores[0], scores[1]


def best_response(df, pfs_score, case_rows, model, rng) -> np.ndarray:
    """Deal the published BOR counts by (noisy) score rank within ASPS / non-ASPS."""
    noisy = pfs_score + model.bor_noise * rng.standard_normal(len(df))
    bor = np.empty(len(df), dtype=object)
    bor[case_rows] = CASE_BEST_RESPONSE
    is_asps = (df["histology"] == "ASPS").to_numpy()
    for group, counts in BOR_COUNTS.items():
        counts = dict(counts)
        rows = [i for i in np.flatnonzero(is_asps == group) if i not in case_rows]
        counts[CASE_BEST_RESPONSE] -= sum(is_asps[r] == group for r in case_rows)
        ranked = sorted(rows, key=lambda i: -noisy[i])
        for row, value in zip(ranked, expand({k: counts[k] for k in ("CR", "PR", "SD", "PD")}),
                              strict=True):
            bor[row] = value
    return bor


def latent_times(df, pfs_score, os_score, case_row, model, rng):
    """Latent PFS / OS months read off the pooled target curves at each rank."""
    n = len(df)
    key = np.where(df["best_response"].to_numpy() == "PD", -1e6, 0.0) + pfs_score
    key[case_row] = np.inf
    p = (np.arange(n) + 0.5) / n
    pfs = np.empty(n)
    pfs[np.argsort(key, kind="stable")] = quantile_curve(model.pfs_knots, p)
    os_ = np.empty(n)
    weibull = model.os_median_months * (-np.log1p(-p) / math.log(2)) ** (1 / model.os_shape)
    os_[np.argsort(os_score, kind="stable")] = weibull
    gap = model.min_post_progression_months * (1 + 3 * stratified_uniform(n, rng))
    return pfs, np.maximum(os_, pfs + gap)


def _pick(candidates, k: int, keys: np.ndarray) -> list[int]:
    """The k candidates with the largest keys (keys: one random value per row).

    Drawing one key per row, whatever the candidates, keeps the rng stream
    independent of the outcome parameters (stable tuning).
    """
    return sorted(candidates, key=lambda i: -keys[i])[:k]


def discontinuation(df, pfs, case_row, rng) -> tuple[np.ndarray, np.ndarray]:
    """Deal discontinuation reasons; return (reason, progression observed?).

    The 7 ongoing patients are non-PD patients picked with probability rising
    with their latent PFS; 2 more non-PD patients stop for an AE (the case
    patient is the third) and 3 for other reasons. All early stoppers but one
    progress later.
    """
    n = len(df)
    reason = np.array(["progression"] * n, dtype=object)
    reason[case_row] = "adverse_event"
    free = [i for i in range(n) if df.at[i, "best_response"] != "PD" and i != case_row]
    weighted_keys = rng.random(n) ** (1 / pfs)  # Efraimidis-Spirakis weighted sampling
    reason[_pick(free, DISCONTINUATION_COUNTS["ongoing"], weighted_keys)] = "ongoing"
    rest = [i for i in free if reason[i] == "progression"]
    n_ae = DISCONTINUATION_COUNTS["adverse_event"] - 1
    stopped = _pick(rest, n_ae + DISCONTINUATION_COUNTS["other"], rng.random(n))
    reason[stopped[:n_ae]] = "adverse_event"
    reason[stopped[n_ae:]] = "other"
    observed = reason == "progression"
    observed[stopped[:-1]] = True
    return reason, observed


# ---------------------------------------------------------------- calendar


def assign_centers(df, pfs, observed, case_row, rng) -> np.ndarray:
    """site_b / site_c take non-ASPS patients whose planned course fits their window."""
    center = np.array(["site_a"] * len(df), dtype=object)
    for site in ("site_b", "site_c"):
        size, first, _ = CENTERS[site]
        room = months((CUTOFF - first).days) - 1
        eligible = [i for i in range(len(df))
                    if center[i] == "site_a" and i != case_row and observed[i]
                    and df.at[i, "histology"] != "ASPS" and pfs[i] < room]
        center[_pick(eligible, size, rng.random(len(df)))] = site
    return center


def start_dates(df, center, pfs, observed, case_row, model, rng) -> np.ndarray:
    """Start dates (as ordinals) inside the centre window where the plan is observable."""
    cutoff = CUTOFF.toordinal()
    start = np.zeros(len(df), dtype=int)
    for site, (_, first, last) in CENTERS.items():
        rows = np.flatnonzero(center == site)
        for row, u in zip(rows, stratified_uniform(len(rows), rng)):
            lo, hi = first.toordinal(), last.toordinal()
            if observed[row]:
                hi = min(hi, cutoff - days(pfs[row]) - 1)
            else:
                lo = max(lo, cutoff - days(pfs[row]) + 1)
            if lo > hi:
                raise ValueError(f"no feasible start date for patient row {row}")
            skew = 1.0
            if site == "site_a":
                asps = df.at[row, "histology"] == "ASPS"
                skew = model.start_skew_asps if asps else model.start_skew_site_a
            start[row] = lo + int(round((hi - lo) * u ** (1 / skew)))
    start[case_row] = cutoff - days(CASE_UPS_MONTHS_ON_TREATMENT + CASE_UPS_MONTHS_AFTER_STOP)
    return start


def event_dates(start, pfs, os_, reason, observed, case_row, rng) -> dict:
    """Progression / death / follow-up / end dates as ordinals (None = missing).

    Alive patients are followed to the cut-off; a death after the cut-off is
    censored there. Early stoppers end after 30-80% of their time to
    progression (or to the cut-off when they do not progress).
    """
    n = len(start)
    cutoff = CUTOFF.toordinal()
    stop_fraction = 0.3 + 0.5 * rng.random(n)
    out = {k: [None] * n for k in ("progression", "death", "last_followup", "end")}
    for i in range(n):
        if observed[i]:
            out["progression"][i] = int(start[i] + days(pfs[i]))
        death = int(start[i] + days(os_[i]))
        out["death"][i] = death if death <= cutoff else None
        out["last_followup"][i] = min(death, cutoff)
        if reason[i] == "progression":
            out["end"][i] = out["progression"][i]
        elif reason[i] in ("adverse_event", "other"):
            span = days(pfs[i]) if observed[i] else cutoff - start[i]
            out["end"][i] = int(start[i] + max(21, round(stop_fraction[i] * span)))
    out["end"][case_row] = int(start[case_row] + days(CASE_UPS_MONTHS_ON_TREATMENT))
    return out
