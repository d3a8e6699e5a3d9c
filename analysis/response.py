"""Objective response rate (ORR) and disease control rate (DCR) with exact 95% CIs.

Conventions
-----------
* Best overall response per RECIST 1.1: CR, PR, SD, PD, NE (not evaluable).
* ORR = (CR + PR) / n and DCR = (CR + PR + SD) / n, where n counts EVERY patient of the
  group, NE included (intention-to-treat denominator, as the study: 18/79 = 22.8%).
  Rates are proportions in [0, 1].
* CI: exact Clopper-Pearson, two-sided ``1 - alpha``: the limits are the beta quantiles
  ``B(alpha/2; k, n-k+1)`` and ``B(1-alpha/2; k+1, n-k)`` (0 when k = 0, 1 when k = n), from
  ``scipy.special.betaincinv``; the same as R's ``binom.test`` and statsmodels'
  ``proportion_confint(method="beta")`` (tests), and as scipy's ``binomtest`` to its
  root-finder's tolerance. An empty group (n = 0) gives NaN rate and limits.
"""
from __future__ import annotations

import pandas as pd

RESPONSES = ("CR", "PR", "SD", "PD", "NE")
OBJECTIVE = ("CR", "PR")
DISEASE_CONTROL = ("CR", "PR", "SD")


def proportion_ci(successes: int, n: int, alpha: float = 0.05) -> tuple[float, float, float]:
    """Proportion ``successes / n`` with its exact Clopper-Pearson ``1 - alpha`` CI.

    Returns
    -------
    (rate, lower, upper) : tuple of float
        ``(nan, nan, nan)`` when ``n == 0``.
    """
    if n <= 0:
        return float("nan"), float("nan"), float("nan")
    from scipy.special import betaincinv   # here: the warehouse's view SQL reads this module
    k, n = int(successes), int(n)
    lower = 0.0 if k == 0 else float(betaincinv(k, n - k + 1, alpha / 2))
    upper = 1.0 if k == n else float(betaincinv(k + 1, n - k, 1 - alpha / 2))
    return successes / n, lower, upper


def _rates(best: pd.Series, alpha: float) -> dict:
    counts = {r: int((best == r).sum()) for r in RESPONSES}
    n = int(best.size)
    orr = proportion_ci(sum(counts[r] for r in OBJECTIVE), n, alpha)
    dcr = proportion_ci(sum(counts[r] for r in DISEASE_CONTROL), n, alpha)
    return {"n": n, **counts, "missing": n - sum(counts.values()),
            "orr": orr[0], "orr_lower": orr[1], "orr_upper": orr[2],
            "dcr": dcr[0], "dcr_lower": dcr[1], "dcr_upper": dcr[2]}


RATE_COLUMNS = ["group", "n", *RESPONSES, "missing", "orr", "orr_lower", "orr_upper",
                "dcr", "dcr_lower", "dcr_upper"]


def response_rates(responses: pd.DataFrame, by: str | None = None, *,
                   alpha: float = 0.05, overall: bool = True) -> pd.DataFrame:
    """Best-response counts, ORR and DCR with exact CIs, overall and per group.

    Parameters
    ----------
    responses : pandas.DataFrame
        Rows of ``v_response`` (or ``v_patient``): needs ``best_response`` and ``by``.
    by : str, optional
        Grouping column (e.g. ``"is_asps"``, ``"histology"``); None = overall only.
    alpha : float
        CI level ``1 - alpha``.
    overall : bool
        Prepend the "all" row when grouping.

    Returns
    -------
    pandas.DataFrame
        Columns ``group``, ``n``, ``CR``, ``PR``, ``SD``, ``PD``, ``NE``, ``missing`` (no
        best response recorded; still in the denominator), ``orr``, ``orr_lower``,
        ``orr_upper``, ``dcr``, ``dcr_lower``, ``dcr_upper``, ``ci_method``
        ("Clopper-Pearson exact"). An empty frame gives one "all" row with n = 0 and NaN
        rates.
    """
    rows = []
    if by is None or overall:
        rows.append({"group": "all", **_rates(responses["best_response"], alpha)})
    if by is not None:
        for value, part in responses.groupby(by, sort=True, dropna=False,
                                                  observed=True):
            rows.append({"group": str(value), **_rates(part["best_response"], alpha)})
    out = pd.DataFrame(rows, columns=RATE_COLUMNS)
    out["ci_method"] = "Clopper-Pearson exact"
    return out
