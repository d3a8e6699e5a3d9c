"""Seeded generator of the synthetic canonical demo cohort (79 patients, 3 centres).

The cohort imitates the three-centre study of PD-1-based therapy in metastatic
soft-tissue sarcoma (Liu et al., Front Immunol 2025;16:1504117). No real
patient is behind any row: every value is generated here from
``numpy.random.default_rng(seed)``. The published numbers live in
``demo/study/published.yaml``; the paper's arithmetic slips and how
the demo resolves them are listed in ``demo/study/ERRATA.md``.

Approach
--------
1. **Baseline (Table 1), built constructively.** For every histology the
   published column counts are expanded into lists of values (e.g. 9 x
   "female" + 11 x "male"); each list is shuffled with the rng and the lists
   are zipped into patients. Per-histology counts are therefore exact by
   construction and the pooled totals follow. Ages and prior lines are built
   from order statistics so that each histology's median and range are exact
   and the pooled medians come out at 46 years and 2 lines.
2. **Regimens.** The regimen class per patient (I, I+A, I+C, I+A+C) comes from
   Table 1; the concrete agents are dealt from the pools quoted in the text.
3. **Outcomes.** Every patient gets a prognostic score (log-time shifts for
   ASPS, line of therapy, regimen, "potentially sensitive" histology, plus
   individual noise drawn at stratified normal quantiles). Best response is
   dealt by score rank within ASPS / non-ASPS (exact published counts).
   Latent PFS and OS times are read off target pooled quantile curves at the
   patient's rank (PD patients take the earliest progression ranks, i.e.
   progress at the first assessment); OS is kept >= PFS + a short
   post-progression interval.
4. **Calendar.** Discontinuation reasons are dealt with the published counts.
   Start dates are drawn inside each centre's enrolment window, restricted to
   the part of the window where the patient's planned outcome is observable
   by the 2024-05-25 cut-off (a progression planned to be observed must fall
   before the cut-off; an "ongoing" patient must still be progression-free).
   Alive patients are followed to the cut-off; deaths after it are censored.
5. **Identities and adverse events.** Synthetic MRNs, names, phone numbers
   and resident IDs; adverse events reproduce every cell of Table 2 under the
   "worst grade per patient per term" rule, with extra lower-grade episodes.

The paper's two typical cases are planted: a UPS patient on apatinib +
camrelizumab who stopped after 15 months (anorexia) and is still stable 19
months later, and an MPNST patient on doxorubicin + ifosfamide + toripalimab.

Every count above is exact for any seed. Survival is not forced: the
:class:`SurvivalModel` parameters were tuned (random search against the
paper's KM medians, landmark proportions, follow-up and log-rank p-values) so
that ``DEFAULT_SEED`` lands near the paper; other seeds give the same tables
but noisier medians. The paper's landmark "rates" are exactly k/79, i.e.
crude proportions, and its median follow-up matches the simple median of
observed time, so those are the readings targeted (see ERRATA.md #15-16).
Run ``python -m demo.cohort`` for the side-by-side summary.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from statistics import NormalDist

from pathlib import Path

import numpy as np
import pandas as pd
import yaml


def _study(name: str) -> dict:
    """A file of the example project (``demo/study/<name>``): the study's conventions, said once."""
    return yaml.safe_load((Path(__file__).parent / "study" / name).read_text(encoding="utf-8"))


#: The data cut-off: ``cutoff`` of the example project's ``harmonise.yaml``.
CUTOFF: dt.date = _study("harmonise.yaml")["cutoff"]
DEFAULT_SEED = 20240525
#: Days per month: ``time.days_per_month`` of the example project's ``plan.yaml``.
DAYS_PER_MONTH = float(_study("plan.yaml")["time"]["days_per_month"])

# centre -> (number of patients, first and last possible start date)
CENTERS: dict[str, tuple[int, dt.date, dt.date]] = {
    "site_a": (52, dt.date(2019, 6, 1), dt.date(2024, 1, 31)),
    "site_b": (16, dt.date(2022, 1, 1), dt.date(2023, 3, 31)),
    "site_c": (11, dt.date(2021, 1, 1), dt.date(2022, 3, 31)),
}

HISTOLOGIES = ("ASPS", "UPS", "DDLPS", "MFS", "AS", "SS", "LMS", "CCS", "MPNST", "ES")
# "potentially sensitive sarcomas" of the paper
SENSITIVE = ("UPS", "DDLPS", "MFS", "AS")
PRIMARY_SITES = ("extremity", "retroperitoneum", "trunk", "other")
REGIMEN_CLASSES = ("I", "I+A", "I+C", "I+A+C")


@dataclass(frozen=True)
class HistologySpec:
    """Design of one Table 1 column (counts are the paper's, after errata)."""

    n: int
    female: int
    primary_site: tuple[int, int, int, int]  # extremity, retroperitoneum, trunk, other
    lung: int
    other_metastasis: int
    ecog: tuple[int, int, int, int]  # 0, 1, 2, >=3
    regimen: tuple[int, int, int, int]  # I, I+A, I+C, I+A+C
    local_treatment: tuple[str, ...]
    age: tuple[int, float, int]  # min, median, max
    young_free_ages: int  # free (non-fixed) ages drawn below the pooled median 46
    prior_lines: tuple[int, ...]  # multiset: fixes median, range and line groups


RT, RFA, SURGERY = "radiotherapy", "radiofrequency_ablation", "surgery"

TABLE1: dict[str, HistologySpec] = {
    "ASPS": HistologySpec(20, 9, (16, 0, 4, 0), 16, 8, (10, 4, 4, 2), (6, 14, 0, 0),
                          (RT, RT, RFA, RFA), (18, 24, 35), 16,
                          (0,) * 5 + (1,) * 9 + (2, 2, 2, 3, 3, 4)),
    "UPS": HistologySpec(13, 6, (9, 1, 3, 0), 9, 5, (8, 3, 1, 1), (0, 8, 2, 3),
                         (RT, RFA, SURGERY), (29, 57, 71), 2,
                         (0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 3, 4, 4)),
    "DDLPS": HistologySpec(5, 3, (3, 1, 1, 0), 5, 5, (4, 1, 0, 0), (1, 1, 1, 2),
                           (SURGERY,), (32, 47, 63), 1, (1, 2, 3, 4, 4)),
    "MFS": HistologySpec(6, 3, (3, 1, 1, 1), 4, 4, (3, 1, 1, 1), (0, 1, 4, 1),
                         (RT,), (49, 56.5, 63), 0, (1, 1, 2, 2, 3, 3)),
    "AS": HistologySpec(6, 3, (3, 0, 1, 2), 3, 3, (4, 2, 0, 0), (0, 3, 2, 1),
                        (RT,), (60, 64.5, 70), 0, (1, 1, 2, 2, 3, 3)),
    "SS": HistologySpec(6, 2, (3, 0, 1, 2), 5, 3, (4, 1, 1, 0), (0, 3, 1, 2),
                        (RT,), (36, 46.5, 55), 1, (2, 2, 3, 3, 4, 5)),
    "LMS": HistologySpec(7, 3, (4, 0, 3, 0), 5, 3, (4, 1, 1, 1), (0, 1, 6, 0),
                         (RFA,), (38, 51, 60), 1, (1, 1, 2, 2, 2, 3, 3)),
    "CCS": HistologySpec(6, 2, (5, 0, 1, 0), 4, 3, (5, 1, 0, 0), (0, 5, 1, 0),
                         (RT,), (28, 38.5, 53), 1, (1, 1, 1, 1, 1, 3)),
    "MPNST": HistologySpec(5, 3, (3, 0, 2, 0), 3, 3, (4, 1, 0, 0), (0, 4, 1, 0),
                           (), (19, 45, 71), 1, (1, 1, 2, 3, 4)),
    "ES": HistologySpec(5, 3, (4, 0, 1, 0), 3, 3, (3, 1, 1, 0), (0, 4, 1, 0),
                        (), (22, 43, 56), 1, (1, 1, 1, 2, 2)),
}
AGE_PIVOT = 46  # pooled median age (46.5 is not attainable with 79 integer ages)

# Agent pools quoted in the Results text: (antiangiogenic, PD-1) -> n
ASPS_I_A = {("anlotinib", "sintilimab"): 6, ("apatinib", "sintilimab"): 5,
            ("anlotinib", "camrelizumab"): 3}
NON_ASPS_I_A = {("anlotinib", "camrelizumab"): 8, ("anlotinib", "sintilimab"): 7,
                ("apatinib", "camrelizumab"): 6, ("apatinib", "sintilimab"): 5,
                ("anlotinib", "toripalimab"): 4}
# I+C backbones per histology: doxorubicin-based 4, gemcitabine-based 8,
# ifosfamide-based 4, albumin-bound paclitaxel-based 3. The MPNST patient is the
# paper's typical case 2 (doxorubicin + ifosfamide + toripalimab).
I_C_BACKBONES: dict[str, tuple[tuple[str, str | None], ...]] = {
    "UPS": (("docetaxel+gemcitabine", None), ("ifosfamide", None)),
    "DDLPS": (("gemcitabine", None),),
    "MFS": (("docetaxel+gemcitabine", None), ("gemcitabine", None),
            ("doxorubicin", None), ("ifosfamide", None)),
    "AS": (("albumin_bound_paclitaxel", None),) * 2,
    "SS": (("ifosfamide", None),),
    "LMS": (("docetaxel+gemcitabine", None),) * 3 + (("gemcitabine", None),)
           + (("doxorubicin", None),) * 2,
    "CCS": (("ifosfamide", None),),
    "MPNST": (("doxorubicin+ifosfamide", "toripalimab"),),
    "ES": (("albumin_bound_paclitaxel", None),),
}
I_C_PD1_POOL = {"sintilimab": 6, "camrelizumab": 5, "toripalimab": 4, "geptanolimab": 3}
_GEM_ANL_SIN = ("gemcitabine", "anlotinib", "sintilimab")
_DOX_ANL_SIN = ("doxorubicin", "anlotinib", "sintilimab")
_IFO_APA_CAM = ("ifosfamide", "apatinib", "camrelizumab")
I_A_C_REGIMENS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "UPS": (_GEM_ANL_SIN, _GEM_ANL_SIN, _DOX_ANL_SIN),
    "DDLPS": (_GEM_ANL_SIN, _DOX_ANL_SIN),
    "MFS": (_GEM_ANL_SIN,),
    "AS": (_GEM_ANL_SIN,),
    "SS": (_IFO_APA_CAM, _IFO_APA_CAM),
}
MONOTHERAPY_PD1 = {"sintilimab": 2, "camrelizumab": 1, "toripalimab": 2, "geptanolimab": 2}

# Best overall response per group (ASPS and non-ASPS CR/PR are published; the
# SD/PD split between the groups is a demo choice that keeps 38 SD / 23 PD).
BOR_COUNTS = {True: {"CR": 2, "PR": 8, "SD": 7, "PD": 3},
              False: {"CR": 1, "PR": 7, "SD": 31, "PD": 20}}
DISCONTINUATION_COUNTS = {"ongoing": 7, "adverse_event": 3, "other": 3}  # rest: progression

# Table 2 (worst grade per patient): term -> patients with worst grade 1..4
AE_WORST_GRADES: dict[str, tuple[int, int, int, int]] = {
    "myelosuppression": (6, 9, 8, 6),
    "gastrointestinal_reaction": (25, 14, 5, 0),
    "fatigue": (31, 15, 0, 0),
    "abnormal_liver_function": (8, 7, 0, 0),
    "renal_insufficiency": (15, 6, 1, 0),
    "hypertension": (7, 4, 2, 0),
    "thyroid_dysfunction": (6, 3, 0, 0),
    "rash": (4, 2, 0, 0),
    "hyperglycemia": (0, 1, 0, 1),
    "cytokine_release_syndrome": (0, 0, 0, 1),
}
N_WITH_AE = 63

# Typical case 1 of the paper (Figure 5): UPS of the thigh with lung metastases,
# third prior line, apatinib + camrelizumab, partial response, stopped after
# 15 months for anorexia, still stable 19 months later at the cut-off.
CASE_UPS = {"histology": "UPS", "primary_site": "extremity", "lung_metastasis": True,
            "regimen_class": "I+A", "prior_lines": 3}
CASE_UPS_AGENTS = ("apatinib", "camrelizumab")
# Typical case 2 (Figure 6): MPNST on doxorubicin + ifosfamide + toripalimab
# (the only MPNST I+C slot, see I_C_BACKBONES), shrinking lesions. The paper
# says "first-line", but Table 1 gives MPNST >= 1 prior line: 1 is used.
CASE_MPNST = {"histology": "MPNST", "regimen_class": "I+C", "prior_lines": 1}
CASE_BEST_RESPONSE = "PR"  # both cases
CASE_UPS_MONTHS_ON_TREATMENT = 15
CASE_UPS_MONTHS_AFTER_STOP = 19


@dataclass(frozen=True)
class SurvivalModel:
    """Knobs of the outcome model, tuned for ``DEFAULT_SEED`` (see module docstring).

    Pairs are (PFS, OS) shifts of the prognostic score; only their size
    relative to ``noise`` matters because times are read off by rank.
    """

    asps: tuple[float, float] = (0.55, 1.81)
    early_line_asps: tuple[float, float] = (1.05, 1.95)  # <= 2 lines, ASPS
    early_line_other: tuple[float, float] = (0.20, 0.58)  # <= 2 lines, non-ASPS
    monotherapy: tuple[float, float] = (-1.07, -0.10)
    triplet: tuple[float, float] = (0.76, 0.88)  # I+A+C (reference: I+A)
    chemo_doublet: tuple[float, float] = (0.20, 0.30)  # I+C (reference: I+A)
    sensitive: tuple[float, float] = (0.33, 0.48)  # UPS / DDLPS / MFS / AS
    noise: float = 0.6  # sd of the individual score
    os_noise_corr: float = 0.78  # correlation of the PFS and OS individual noise
    bor_noise: float = 0.26  # extra noise when ranking best response
    # pooled latent PFS: (cumulative proportion progressed, months); the first
    # knots put 12/79 progressions before 3 months and all 23 PD by ~4.6 months
    pfs_knots: tuple[tuple[float, float], ...] = (
        (0.0, 1.4), (0.152, 2.95), (0.29, 4.6), (0.38, 5.9), (0.5, 7.5),
        (0.722, 10.0), (0.85, 22.6), (0.93, 36.5), (1.0, 56.0))
    os_median_months: float = 21.1  # pooled latent OS: Weibull median and shape
    os_shape: float = 1.34
    min_post_progression_months: float = 1.47  # OS >= PFS + 1.5..6 months
    start_skew_site_a: float = 0.99  # u ** (1 / skew) places starts in the window
    start_skew_asps: float = 1.27


SURVIVAL_MODEL = SurvivalModel()


@dataclass(frozen=True)
class Cohort:
    """The canonical demo cohort: one row per patient / per adverse event."""

    patients: pd.DataFrame
    adverse_events: pd.DataFrame


PATIENT_COLUMNS = [
    "center_id", "mrn", "name", "phone", "national_id", "sex", "age_years", "histology",
    "primary_site", "lung_metastasis", "other_metastasis", "ecog", "prior_lines",
    "line_of_therapy", "start_date", "immunotherapy_agent", "antiangiogenic_agents",
    "cytotoxic_agents", "local_treatment", "end_date", "discontinuation_reason",
    "best_response", "progression_date", "death_date", "last_followup_date",
]
AE_COLUMNS = ["center_id", "mrn", "term", "grade", "onset_date"]


# ---------------------------------------------------------------- helpers


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


def _days(months_: float) -> int:
    return int(round(months_ * DAYS_PER_MONTH))


def _expand(counts: dict) -> list:
    return [value for value, k in counts.items() for _ in range(k)]


def _stratified_uniform(n: int, rng: np.random.Generator) -> np.ndarray:
    """One uniform per equal-width stratum of (0, 1), in random order."""
    return rng.permutation((np.arange(n) + rng.random(n)) / n)


def _stratified_normal(n: int, rng: np.random.Generator) -> np.ndarray:
    inv = NormalDist().inv_cdf
    return np.array([inv(u) for u in _stratified_uniform(n, rng)])


def _quantile_curve(knots, p: np.ndarray) -> np.ndarray:
    """Log-linear interpolation of a (proportion, months) curve."""
    ps, ts = zip(*knots)
    return np.exp(np.interp(p, ps, np.log(ts)))


def _join(*agents: str | None) -> str:
    return "+".join(sorted(a for part in agents if part for a in part.split("+")))


# ---------------------------------------------------------------- baseline


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
        "sex": _expand({"female": spec.female, "male": n - spec.female}),
        "primary_site": _expand(dict(zip(PRIMARY_SITES, spec.primary_site))),
        "ecog": _expand(dict(zip(range(4), spec.ecog))),
        "regimen_class": _expand(dict(zip(REGIMEN_CLASSES, spec.regimen))),
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


def _baseline(rng) -> tuple[pd.DataFrame, dict[str, int]]:
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
    items = _expand(pool)
    return [items[i] for i in rng.permutation(len(items))]


def _assign_regimens(df: pd.DataFrame, case_row: int, rng) -> pd.DataFrame:
    df = df.copy()
    asps = df["histology"] == "ASPS"
    cls = df["regimen_class"]
    rows_asps_ia = df.index[asps & (cls == "I+A")]
    rows_other_ia = [i for i in df.index[~asps & (cls == "I+A")] if i != case_row]
    other_ia_pool = _expand(NON_ASPS_I_A)
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
    df["antiangiogenic_agents"] = pd.Series(antiangio).reindex(df.index).fillna("").map(_join)
    df["cytotoxic_agents"] = pd.Series(cytotoxic).reindex(df.index).fillna("").map(_join)
    return df


# ---------------------------------------------------------------- outcomes


def _scores(df: pd.DataFrame, model: SurvivalModel, rng) -> tuple[np.ndarray, np.ndarray]:
    """Prognostic scores (higher = longer) for PFS and OS."""
    n = len(df)
    asps = (df["histology"] == "ASPS").to_numpy()
    early = (df["line_of_therapy"] <= 2).to_numpy()
    cls = df["regimen_class"].to_numpy()
    sensitive = df["histology"].isin(SENSITIVE).to_numpy()
    eps, eta = _stratified_normal(n, rng), _stratified_normal(n, rng)
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


def _best_response(df, pfs_score, case_rows, model, rng) -> np.ndarray:
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
        for row, value in zip(ranked, _expand({k: counts[k] for k in ("CR", "PR", "SD", "PD")}),
                              strict=True):
            bor[row] = value
    return bor


def _latent_times(df, pfs_score, os_score, case_row, model, rng):
    """Latent PFS / OS months read off the pooled target curves at each rank."""
    n = len(df)
    key = np.where(df["best_response"].to_numpy() == "PD", -1e6, 0.0) + pfs_score
    key[case_row] = np.inf
    p = (np.arange(n) + 0.5) / n
    pfs = np.empty(n)
    pfs[np.argsort(key, kind="stable")] = _quantile_curve(model.pfs_knots, p)
    os_ = np.empty(n)
    weibull = model.os_median_months * (-np.log1p(-p) / math.log(2)) ** (1 / model.os_shape)
    os_[np.argsort(os_score, kind="stable")] = weibull
    gap = model.min_post_progression_months * (1 + 3 * _stratified_uniform(n, rng))
    return pfs, np.maximum(os_, pfs + gap)


def _pick(candidates, k: int, keys: np.ndarray) -> list[int]:
    """The k candidates with the largest keys (keys: one random value per row).

    Drawing one key per row, whatever the candidates, keeps the rng stream
    independent of the outcome parameters (stable tuning).
    """
    return sorted(candidates, key=lambda i: -keys[i])[:k]


def _discontinuation(df, pfs, case_row, rng) -> tuple[np.ndarray, np.ndarray]:
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


def _assign_centers(df, pfs, observed, case_row, rng) -> np.ndarray:
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


def _start_dates(df, center, pfs, observed, case_row, model, rng) -> np.ndarray:
    """Start dates (as ordinals) inside the centre window where the plan is observable."""
    cutoff = CUTOFF.toordinal()
    start = np.zeros(len(df), dtype=int)
    for site, (_, first, last) in CENTERS.items():
        rows = np.flatnonzero(center == site)
        for row, u in zip(rows, _stratified_uniform(len(rows), rng)):
            lo, hi = first.toordinal(), last.toordinal()
            if observed[row]:
                hi = min(hi, cutoff - _days(pfs[row]) - 1)
            else:
                lo = max(lo, cutoff - _days(pfs[row]) + 1)
            if lo > hi:
                raise ValueError(f"no feasible start date for patient row {row}")
            skew = 1.0
            if site == "site_a":
                asps = df.at[row, "histology"] == "ASPS"
                skew = model.start_skew_asps if asps else model.start_skew_site_a
            start[row] = lo + int(round((hi - lo) * u ** (1 / skew)))
    start[case_row] = cutoff - _days(CASE_UPS_MONTHS_ON_TREATMENT + CASE_UPS_MONTHS_AFTER_STOP)
    return start


def _event_dates(start, pfs, os_, reason, observed, case_row, rng) -> dict:
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
            out["progression"][i] = int(start[i] + _days(pfs[i]))
        death = int(start[i] + _days(os_[i]))
        out["death"][i] = death if death <= cutoff else None
        out["last_followup"][i] = min(death, cutoff)
        if reason[i] == "progression":
            out["end"][i] = out["progression"][i]
        elif reason[i] in ("adverse_event", "other"):
            span = _days(pfs[i]) if observed[i] else cutoff - start[i]
            out["end"][i] = int(start[i] + max(21, round(stop_fraction[i] * span)))
    out["end"][case_row] = int(start[case_row] + _days(CASE_UPS_MONTHS_ON_TREATMENT))
    return out


# ---------------------------------------------------------------- identities

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董"
            "袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏付方白邹孟"
            "熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴孔汤")
GIVEN_NAME_CHARS = {
    "female": "秀英华玉兰芳丽敏静燕娟艳霞红梅琳婷雪倩洁颖慧萍莉玲娜晶欣悦怡",
    "male": "伟强磊军勇杰涛斌超明刚平辉鹏飞鑫波宇浩凯健俊帆旭宁龙林峰建国志文博东亮成",
}
# Henan county-level region codes (Zhengzhou, Kaifeng, Luoyang, ... Zhumadian)
REGION_CODES = ("410102", "410103", "410105", "410122", "410181", "410202", "410302",
                "410402", "410502", "410702", "410802", "411002", "411102", "411302",
                "411402", "411502", "411602", "411702")
PHONE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139",
                  "150", "151", "152", "155", "156", "157", "158", "159",
                  "180", "181", "182", "183", "186", "187", "188", "189")
MRN_FORMATS = {"site_a": ("HN", 7), "site_b": ("", 8), "site_c": ("ZY-", 6)}
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of a Chinese resident ID."""
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS))
    return "10X98765432"[total % 11]


def _unique(draw, taken: set):
    while True:
        value = draw()
        if value not in taken:
            taken.add(value)
            return value


def _birth_date(start: dt.date, age: int, rng) -> dt.date:
    """A birth date giving exactly ``age`` completed years on ``start``."""
    def years_before(d: dt.date, years: int) -> dt.date:
        try:
            return d.replace(year=d.year - years)
        except ValueError:  # 29 February
            return d.replace(year=d.year - years, day=28)
    latest = years_before(start, age)
    earliest = years_before(start, age + 1) + dt.timedelta(days=1)
    return earliest + dt.timedelta(days=int(rng.integers(0, (latest - earliest).days + 1)))


def _identities(df: pd.DataFrame, rng) -> pd.DataFrame:
    mrns, phones, ids = set(), set(), set()
    names: dict[str, set] = {c: set() for c in CENTERS}
    rows = []
    for row in df.itertuples():
        prefix, width = MRN_FORMATS[row.center_id]
        low = 10 ** (width - 1) if not prefix else 0
        mrn = _unique(lambda: f"{prefix}{int(rng.integers(low, 10 ** width)):0{width}d}", mrns)
        chars = GIVEN_NAME_CHARS[row.sex]

        def draw_name():
            given = "".join(chars[int(rng.integers(len(chars)))]
                            for _ in range(int(rng.integers(1, 3))))
            return SURNAMES[int(rng.integers(len(SURNAMES)))] + given
        name = _unique(draw_name, names[row.center_id])
        phone = _unique(lambda: PHONE_PREFIXES[int(rng.integers(len(PHONE_PREFIXES)))]
                        + f"{int(rng.integers(0, 10**8)):08d}", phones)
        birth = _birth_date(row.start_date, row.age_years, rng)

        def draw_id():
            seq = int(rng.integers(0, 100)) * 10 + int(rng.integers(0, 5)) * 2 \
                + (1 if row.sex == "male" else 0)  # 17th digit: odd = male
            first17 = (REGION_CODES[int(rng.integers(len(REGION_CODES)))]
                       + birth.strftime("%Y%m%d") + f"{seq:03d}")
            return first17 + id_check_char(first17)
        rows.append({"mrn": mrn, "name": name, "phone": phone,
                     "national_id": _unique(draw_id, ids)})
    return pd.DataFrame(rows, index=df.index)


# ---------------------------------------------------------------- adverse events


CHEMO_TERMS = ("myelosuppression", "gastrointestinal_reaction")  # high grades: chemo first
COVERING_TERMS = ("gastrointestinal_reaction", "fatigue")  # dealt last, to uncovered first


def _worst_grades(df: pd.DataFrame, reason: np.ndarray, case_row: int, rng) -> tuple[dict, set]:
    """(row, term) -> worst grade, reproducing Table 2 cell by cell.

    Slots are dealt highest grade first. Chemotherapy patients take the
    myelosuppression slots and the grade >= 3 gastrointestinal slots first;
    hypertension only occurs with antiangiogenic agents; the two common terms
    are dealt last and go first to patients still without any AE, so exactly
    ``N_WITH_AE`` patients have one. The two grade-4 immune events and the
    case patient's grade-3 anorexia are the AEs that led to discontinuation
    (returned as the second value).
    """
    n = len(df)
    chemo = (df["cytotoxic_agents"] != "").to_numpy()
    antiangio = (df["antiangiogenic_agents"] != "").to_numpy()
    ae_stoppers = [i for i in np.flatnonzero(reason == "adverse_event") if i != case_row]
    pinned = {(int(ae_stoppers[0]), "cytokine_release_syndrome"): 4,
              (int(ae_stoppers[1]), "hyperglycemia"): 4,
              (case_row, "gastrointestinal_reaction"): 3}
    must = {int(i) for i in np.flatnonzero(chemo)} | {r for r, _ in pinned}
    optional = [i for i in range(n) if i not in must]
    extra = rng.choice(optional, size=N_WITH_AE - len(must), replace=False)
    with_ae = sorted(must | {int(i) for i in extra})
    worst = dict(pinned)
    terms = [t for t in AE_WORST_GRADES if t not in COVERING_TERMS] + list(COVERING_TERMS)
    for term in terms:
        slots = _expand(dict(zip((1, 2, 3, 4), AE_WORST_GRADES[term])))[::-1]
        for (_, t), g in pinned.items():
            if t == term:
                slots.remove(g)
        pool = [i for i in with_ae if (i, term) not in pinned
                and (term != "hypertension" or antiangio[i])]
        noise = dict(zip(pool, rng.random(len(pool))))
        covered = {r for r, _ in worst}

        def priority(i, grade):
            wants_chemo = term == "myelosuppression" or (term in CHEMO_TERMS and grade >= 3)
            return (wants_chemo and not chemo[i],
                    term in COVERING_TERMS and i in covered, noise[i])
        for grade in slots:
            best = min(pool, key=lambda i: priority(i, grade))
            pool.remove(best)
            worst[(best, term)] = grade
    return worst, set(pinned)


def _adverse_events(df, worst: dict, decisive: set, rng) -> pd.DataFrame:
    """Expand worst grades into dated events (some with an earlier, milder episode).

    Onsets fall between the start and the end of treatment (or the last
    follow-up); the AE that stopped treatment falls in the two weeks before
    the end date. site_c records onset in whole weeks after the start.
    """
    events = []
    for (row, term), grade in sorted(worst.items()):
        p = df.loc[row]
        start = p["start_date"]
        bound = min(p["end_date"] or p["last_followup_date"], CUTOFF)
        span = (bound - start).days
        grades = [grade]
        if grade >= 2 and rng.random() < 0.35:
            grades.insert(0, int(rng.integers(1, grade)))
        elif grade == 1 and rng.random() < 0.15:
            grades.insert(0, 1)
        offsets = sorted(min(span, 7 + int(rng.exponential(45))) for _ in grades)
        if (row, term) in decisive:
            offsets[-1] = max(offsets[0], span - int(rng.integers(0, 15)))
        if p["center_id"] == "site_c":
            offsets = [7 * (o // 7) for o in offsets]
        for g, offset in zip(grades, offsets):
            events.append({"center_id": p["center_id"], "mrn": p["mrn"], "term": term,
                           "grade": g, "onset_date": start + dt.timedelta(days=offset)})
    return pd.DataFrame(events, columns=AE_COLUMNS)


# ---------------------------------------------------------------- assembly


def _to_date(ordinal):
    return None if ordinal is None else dt.date.fromordinal(int(ordinal))


def build_cohort(seed: int = DEFAULT_SEED, model: SurvivalModel = SURVIVAL_MODEL) -> Cohort:
    """Generate the canonical demo cohort; identical output for identical seeds."""
    rng = np.random.default_rng(seed)
    df, cases = _baseline(rng)
    case_row = cases["ups"]
    df = _assign_regimens(df, case_row, rng)
    pfs_score, os_score = _scores(df, model, rng)
    df["best_response"] = _best_response(df, pfs_score, list(cases.values()), model, rng)
    pfs, os_ = _latent_times(df, pfs_score, os_score, case_row, model, rng)
    reason, observed = _discontinuation(df, pfs, case_row, rng)
    df["discontinuation_reason"] = reason
    df["center_id"] = _assign_centers(df, pfs, observed, case_row, rng)
    start = _start_dates(df, df["center_id"].to_numpy(), pfs, observed, case_row, model, rng)
    dates = _event_dates(start, pfs, os_, reason, observed, case_row, rng)
    df["start_date"] = [_to_date(s) for s in start]
    for column, key in (("progression_date", "progression"), ("death_date", "death"),
                        ("last_followup_date", "last_followup"), ("end_date", "end")):
        df[column] = pd.Series([_to_date(d) for d in dates[key]], index=df.index, dtype=object)
    df = df.join(_identities(df, rng))
    worst, decisive = _worst_grades(df, reason, case_row, rng)
    adverse_events = _adverse_events(df, worst, decisive, rng)

    order = df.sort_values(["center_id", "start_date", "mrn"]).index
    patients = df.loc[order, PATIENT_COLUMNS].reset_index(drop=True)
    rank = {mrn: k for k, mrn in enumerate(patients["mrn"])}
    adverse_events = (adverse_events
                      .assign(_k=adverse_events["mrn"].map(rank))
                      .sort_values(["_k", "onset_date", "term"], kind="stable")
                      .drop(columns="_k").reset_index(drop=True))
    return Cohort(patients=patients, adverse_events=adverse_events)


# ---------------------------------------------------------------- summary


def survival_frame(patients: pd.DataFrame) -> pd.DataFrame:
    """PFS / OS durations (months) and event flags, one row per patient."""
    start = pd.to_datetime(patients["start_date"])
    prog = pd.to_datetime(patients["progression_date"])
    death = pd.to_datetime(patients["death_date"])
    last = pd.to_datetime(patients["last_followup_date"])
    pfs_end = prog.fillna(death).fillna(last)
    return pd.DataFrame({
        "pfs_months": (pfs_end - start).dt.days / DAYS_PER_MONTH,
        "pfs_event": prog.notna() | death.notna(),
        "os_months": (last - start).dt.days / DAYS_PER_MONTH,
        "os_event": death.notna(),
    }, index=patients.index)


def _summary(cohort: Cohort) -> None:  # pragma: no cover - printed report
    from lifelines import KaplanMeierFitter

    p = cohort.patients
    s = survival_frame(p)
    asps = p["histology"] == "ASPS"
    early = p["line_of_therapy"] <= 2
    cls = [regimen_class(a, c) for a, c in zip(p["antiangiogenic_agents"], p["cytotoxic_agents"])]
    cls = pd.Series(cls, index=p.index)
    sens = p["histology"].isin(SENSITIVE)

    def median(mask, kind):
        km = KaplanMeierFitter().fit(s.loc[mask, f"{kind}_months"], s.loc[mask, f"{kind}_event"])
        m = km.median_survival_time_
        return "NR" if not np.isfinite(m) else f"{m:.1f}"

    groups = [
        ("all", pd.Series(True, index=p.index), "7.5", "19.5"),
        ("ASPS", asps, "17.5", "45"), ("non-ASPS", ~asps, "6.3", "15.5"),
        ("ASPS I+A", asps & (cls == "I+A"), "24.4", "NR"),
        ("ASPS monotherapy", asps & (cls == "I"), "7.5", "29"),
        ("<=2 lines", early, "11", "45"), ("later lines", ~early, "6.4", "15"),
        ("ASPS <=2 lines", asps & early, "22.3", "NR"),
        ("ASPS later lines", asps & ~early, "8.1", "21"),
        ("non-ASPS <=2 lines", ~asps & early, "6.9", "23"),
        ("non-ASPS later lines", ~asps & ~early, "6.3", "15"),
        ("non-ASPS I+C", ~asps & (cls == "I+C"), "6.2", "15.0"),
        ("non-ASPS I+A", ~asps & (cls == "I+A"), "5.4", "14"),
        ("non-ASPS I+A+C", ~asps & (cls == "I+A+C"), "11", "17.5"),
        ("monotherapy", cls == "I", "6", "28"), ("combination", cls != "I", "6", "18"),
        ("potentially sensitive", sens, "-", "-"), ("other non-ASPS", ~asps & ~sens, "-", "-"),
    ]
    print(f"{'group':24s} {'n':>3s}  {'mPFS':>6s} {'paper':>6s}  {'mOS':>6s} {'paper':>6s}")
    for label, mask, paper_pfs, paper_os in groups:
        print(f"{label:24s} {int(mask.sum()):3d}  {median(mask, 'pfs'):>6s} {paper_pfs:>6s}"
              f"  {median(mask, 'os'):>6s} {paper_os:>6s}")
    km_pfs = KaplanMeierFitter().fit(s["pfs_months"], s["pfs_event"])
    km_os = KaplanMeierFitter().fit(s["os_months"], s["os_event"])
    for label, km, col, times, paper in (
            ("PFS", km_pfs, "pfs_months", (3, 6, 12), "84.8 / 62.0 / 27.8"),
            ("OS", km_os, "os_months", (6, 12, 18), "89.8 / 70.9 / 45.6")):
        print(f"{label} % at {'/'.join(map(str, times))} m: KM "
              + " / ".join(f"{100 * float(km.predict(t)):.1f}" for t in times)
              + "; crude (observed time > t) "
              + " / ".join(f"{100 * (s[col] > t).mean():.1f}" for t in times)
              + f"  (paper {paper}, exactly k/79)")
    reverse = KaplanMeierFitter().fit(s["os_months"], ~s["os_event"])
    print(f"median follow-up: simple {s['os_months'].median():.1f}, reverse KM "
          f"{reverse.median_survival_time_:.1f} months (paper 14.2)")
    _print_logrank(s, asps, early, cls, sens)
    print(f"deaths {int(s['os_event'].sum())}, progressions {int(s['pfs_event'].sum())}, "
          f"centres {p['center_id'].value_counts().to_dict()}")


def _print_logrank(s, asps, early, cls, sens) -> None:  # pragma: no cover - printed report
    from lifelines.statistics import logrank_test

    everyone = pd.Series(True, index=s.index)
    comparisons = [  # label, population, group A (expected better), paper p (PFS, OS)
        ("ASPS vs non-ASPS", everyone, asps, "<0.01", "<0.01"),
        ("<=2 vs later lines", everyone, early, "<0.01", "<0.01"),
        ("combination vs monotherapy", everyone, cls != "I", "0.29", "0.47"),
        ("ASPS: I+A vs monotherapy", asps, cls != "I", "<0.01", "0.09"),
        ("ASPS: <=2 vs later lines", asps, early, "0.03", "<0.01"),
        ("non-ASPS: <=2 vs later", ~asps, early, "0.06", "0.01"),
        ("non-ASPS: pot. sensitive vs other", ~asps, sens, "0.02", "0.03"),
        ("pot. sensitive: <=2 vs later", sens, early, "0.13", "0.03"),
        ("other: <=2 vs later", ~asps & ~sens, early, "0.18", "0.17"),
    ]
    print(f"{'log-rank':34s} {'p PFS':>7s} {'paper':>6s} {'p OS':>7s} {'paper':>6s}")
    for label, population, group, paper_pfs, paper_os in comparisons:
        cells = []
        for kind in ("pfs", "os"):
            a, b = s[population & group], s[population & ~group]
            result = logrank_test(a[f"{kind}_months"], b[f"{kind}_months"],
                                  a[f"{kind}_event"], b[f"{kind}_event"])
            cells.append(f"{result.p_value:7.3f}")
        print(f"{label:34s} {cells[0]} {paper_pfs:>6s} {cells[1]} {paper_os:>6s}")


if __name__ == "__main__":  # pragma: no cover
    _summary(build_cohort())
