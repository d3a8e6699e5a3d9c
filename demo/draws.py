"""Small seeded-draw helpers of the synthetic cohort (expansion, stratified quantiles, agents)."""
from __future__ import annotations

from statistics import NormalDist

import numpy as np

from harmonise.demo.cohort_spec import DAYS_PER_MONTH


def regimen_class(antiangiogenic_agents: str, cytotoxic_agents: str) -> str:
    """Table 1 regimen class of a patient: "I", "I+A", "I+C" or "I+A+C"."""
    return "I" + ("+A" if antiangiogenic_agents else "") + ("+C" if cytotoxic_agents else "")


def chemo_backbone(cytotoxic_agents: str) -> str:
    """The "<agent>-based" label of the text (doxorubicin wins over ifosfamide)."""
    agents = set(cytotoxic_agents.split("+")) if cytotoxic_agents else set()
    for backbone in ("doxorubicin", "gemcitabine", "ifosfamide", "albumin_bound_paclitaxel"):
        if backbone in agents:
            return backbone
    return ""


def months(days: float) -> float:
    return days / DAYS_PER_MONTH


def days(months_: float) -> int:
    return int(round(months_ * DAYS_PER_MONTH))


def expand(counts: dict) -> list:
    return [value for value, k in counts.items() for _ in range(k)]


def stratified_uniform(n: int, rng: np.random.Generator) -> np.ndarray:
    """One uniform per equal-width stratum of (0, 1), in random order."""
    return rng.permutation((np.arange(n) + rng.random(n)) / n)


def stratified_normal(n: int, rng: np.random.Generator) -> np.ndarray:
    inv = NormalDist().inv_cdf
    return np.array([inv(u) for u in stratified_uniform(n, rng)])


def quantile_curve(knots, p: np.ndarray) -> np.ndarray:
    """Log-linear interpolation of a (proportion, months) curve."""
    ps, ts = zip(*knots)
    return np.exp(np.interp(p, ps, np.log(ts)))


def join(*agents: str | None) -> str:
    return "+".join(sorted(a for part in agents if part for a in part.split("+")))
