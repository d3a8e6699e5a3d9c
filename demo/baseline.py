"""The cohort's baseline (Table 1) and regimens, built constructively from the published counts."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from harmonise.demo.cohort_spec import (AGE_PIVOT, ASPS_I_A, CASE_MPNST, CASE_UPS, CASE_UPS_AGENTS,
                                        HISTOLOGIES, I_A_C_REGIMENS, I_C_BACKBONES, I_C_PD1_POOL,
                                        MONOTHERAPY_PD1, NON_ASPS_I_A, PRIMARY_SITES,
                                        REGIMEN_CLASSES, TABLE1, HistologySpec)
from harmonise.demo.draws import expand, join


def _ages(spec: HistologySpec, rng: np.random.Generator) -> list[int]:
    """Integer ages with the spec's exact min, median and max.

    The order statistics at the ends and in the middle are fixed; the others
    are drawn between them. ``young_free_ages`` of the free values are drawn
    below ``AGE_PIVOT`` and the rest at or above it, which pins the pooled
    median to ``AGE_PIVOT``.
    """
    lo, median, hi = spec.age
    if spec.n % 2:
        middle = [int(median)]
    else:
        middle = [math.floor(median), math.ceil(median)]
    n_half = (spec.n - 2 - len(middle)) // 2
    slots = [(lo, middle[0])] * n_half + [(middle[-1], hi)] * n_half
    ages = [lo, hi, *middle]
    for k, (a, b) in enumerate(slots):
        if k < spec.young_free_ages:
            a, b = a, min(b, AGE_PIVOT - 1)
        else:
            a, b = max(a, AGE_PIVOT), b
        if a > b:
            raise ValueError(f"age slot {k} of {spec} is empty")
        ages.append(int(rng.integers(a, b + 1)))
    return ages


def _metastasis_flags(n: int, lung: int, other: int, rng) -> tuple[list[bool], list[bool]]:
    """Lung / other-site flags with exact counts; every patient has >= 1 site."""
    lung_flags = [True] * lung + [False] * (n - lung)
    other_flags = [not f for f in lung_flags]  # no lung metastasis -> another site
    extra = other - sum(other_flags)
    if extra < 0:
        raise ValueError("too few other-site metastases to cover every patient")
    for i in rng.choice(lung, size=extra, replace=False):
        other_flags[int(i)] = True
    order = rng.permutation(n)
    return [lung_flags[i] for i in order], [other_flags[i] for i in order]


def _histology_block(histology: str, spec: HistologySpec, rng) -> pd.DataFrame:
    n = spec.n
    columns = {
        "sex": expand({"female": spec.female, "male": n - spec.female}),
        "primary_site": expand(dict(zip(PRIMARY_SITES, spec.primary_site))),
        "ecog": expand(dict(zip(range(4), spec.ecog))),
        "regimen_class": expand(dict(zip(REGIMEN_CLASSES, spec.regimen))),
        "local_treatment": list(spec.local_treatment) + [""] * (n - len(spec.local_treatment)),
        "prior_lines": list(spec.prior_lines),
        "age_years": _ages(spec, rng),
    }
    block = pd.DataFrame({name: rng.permutation(np.array(values, dtype=object))
                          for name, values in columns.items()})
    block["lung_metastasis"], block["other_metastasis"] = _metastasis_flags(
        n, spec.lung, spec.other_metastasis, rng)
    block.insert(0, "histology", histology)
    return block


def _pin_row(df: pd.DataFrame, wanted: dict, rng) -> int:
    """Make one row of ``wanted['histology']`` carry all ``wanted`` values.

    Values are swapped with other rows of the same histology, so every
    per-histology count is unchanged. Returns the pinned row's index.
    """
    same = df.index[df["histology"] == wanted["histology"]]
    row = int(rng.choice(same))
    for column, value in wanted.items():
        if df.at[row, column] == value:
            continue
        donors = [i for i in same if i != row and df.at[i, column] == value]
        donor = donors[0]
        df.loc[[row, donor], column] = [value, df.at[row, column]]
    return row


def baseline(rng) -> tuple[pd.DataFrame, dict[str, int]]:
    df = pd.concat([_histology_block(h, TABLE1[h], rng) for h in HISTOLOGIES],
                   ignore_index=True)
    df["ecog"] = df["ecog"].astype(int)
    df["prior_lines"] = df["prior_lines"].astype(int)
    df["age_years"] = df["age_years"].astype(int)
    cases = {"ups": _pin_row(df, CASE_UPS, rng), "mpnst": _pin_row(df, CASE_MPNST, rng)}
    df["line_of_therapy"] = df["prior_lines"] + 1
    return df, cases


# ---------------------------------------------------------------- regimens


def _deal(pool: dict, rng) -> list:
    items = expand(pool)
    return [items[i] for i in rng.permutation(len(items))]


def assign_regimens(df: pd.DataFrame, case_row: int, rng) -> pd.DataFrame:
    df = df.copy()
    asps = df["histology"] == "ASPS"
    cls = df["regimen_class"]
    rows_asps_ia = df.index[asps & (cls == "I+A")]
    rows_other_ia = [i for i in df.index[~asps & (cls == "I+A")] if i != case_row]
    other_ia_pool = expand(NON_ASPS_I_A)
    other_ia_pool.remove(CASE_UPS_AGENTS)
    antiangio, cytotoxic, pd1 = {}, {}, {}
    for rows, pool in ((rows_asps_ia, _deal(ASPS_I_A, rng)),
                       (rows_other_ia, [other_ia_pool[i] for i in rng.permutation(len(other_ia_pool))])):
        for row, (a, p) in zip(rows, pool, strict=True):
            antiangio[row], pd1[row] = a, p
    antiangio[case_row], pd1[case_row] = CASE_UPS_AGENTS
    for row, p in zip(df.index[cls == "I"], _deal(MONOTHERAPY_PD1, rng), strict=True):
        pd1[row] = p
    ic_pd1 = iter(_deal(I_C_PD1_POOL, rng))
    for histology, regimens in I_C_BACKBONES.items():
        rows = df.index[(df["histology"] == histology) & (cls == "I+C")]
        for row, k in zip(rows, rng.permutation(len(regimens)), strict=True):
            cytotoxic[row], agent = regimens[k]
            pd1[row] = agent or next(ic_pd1)
    for histology, regimens in I_A_C_REGIMENS.items():
        rows = df.index[(df["histology"] == histology) & (cls == "I+A+C")]
        for row, k in zip(rows, rng.permutation(len(regimens)), strict=True):
            cytotoxic[row], antiangio[row], pd1[row] = regimens[k]
    df["immunotherapy_agent"] = pd.Series(pd1)
    df["antiangiogenic_agents"] = pd.Series(antiangio).reindex(df.index).fillna("").map(join)
    df["cytotoxic_agents"] = pd.Series(cytotoxic).reindex(df.index).fillna("").map(join)
    return df
