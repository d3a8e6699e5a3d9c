"""The published targets the synthetic cohort is built to, and its survival model."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

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
