"""A fourth synthetic center, ``site_d``, for practising ``harmonise new-center``.

site_d is NOT one of the study's three centers: its export lives in ``demo/site_d/export/``,
not in the example project's ``demo/study/inbox/``, so the demo run keeps loading exactly the 79 study patients.
``docs/adding-a-center.md`` walks through onboarding it, and ``demo/site_d/site_d.yaml``
is the finished mapping that walkthrough arrives at.

The export is shaped unlike the other three: one Excel workbook with two sheets
(患者信息: one row per patient; 不良反应: one row per adverse event), pinyin and
English-abbreviated headers in mixed case (``Pt_ID``, ``XingMing``, ``Path_Dx``,
``Tx_Start``), dates written ``15-Mar-2021`` except the end of treatment, which the
hospital's sheet stores as Excel day numbers (44270), sex as M/F, histology partly in
Traditional Chinese, ECOG as "ECOG 1", agents by brand names (達伯舒, Tyvyt, 艾瑞卡,
福可維), yes/no as Y/N, grades as "G2", and direct identifiers (name, record number,
mobile phone, national ID number). Every value is drawn from a seeded generator:
no row belongs to a real patient.

Regenerate with ``python -m demo.site_d`` (writes ``demo/site_d/export/``) or
``python -m demo.site_d OUT_DIR``.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from harmonise.demo.cohort import (CUTOFF, GIVEN_NAME_CHARS, PHONE_PREFIXES, REGION_CODES, SURNAMES,
                         id_check_char)

SITE_D_DIR = Path(__file__).parent
EXPORT_DIR = SITE_D_DIR / "export"
EXPORT_NAME = "site_d_export.xlsx"
FINISHED_MAPPING = SITE_D_DIR / "site_d.yaml"
SEED = 20240513
N_PATIENTS = 11
PATIENT_SHEET = "患者信息"
AE_SHEET = "不良反应"
EXCEL_EPOCH = dt.date(1899, 12, 30)

# (canonical histology, weight) and this hospital's spellings, used in turn
HISTOLOGY = {"ASPS": 3, "UPS": 2, "MFS": 1, "SS": 2, "LMS": 1, "DDLPS": 1, "AS": 1}
HISTOLOGY_SPELLINGS = {
    "ASPS": ("腺泡狀軟組織肉瘤", "ASPS"), "UPS": ("Undifferentiated pleomorphic sarcoma", "UPS"),
    "MFS": ("黏液纖維肉瘤",), "SS": ("滑膜肉瘤", "Synovial sarcoma"), "LMS": ("Leiomyosarcoma",),
    "DDLPS": ("去分化脂肪肉瘤",), "AS": ("血管肉瘤",)}
SITE_SPELLINGS = {"extremity": ("Lower limb", "Extremity", "下肢"), "trunk": ("Trunk",),
                  "retroperitoneum": ("Retroperitoneal",), "other": ("Head and neck",)}
PD1_SPELLINGS = {"sintilimab": ("達伯舒", "Tyvyt"), "camrelizumab": ("艾瑞卡",),
                 "toripalimab": ("拓益",), "tislelizumab": ("百泽安",)}
ANTIANGIOGENIC_SPELLINGS = {"anlotinib": ("Anlotinib", "福可維"), "apatinib": ("Apatinib",)}
CHEMO = {"": "", "gemcitabine": "GEM", "doxorubicin+ifosfamide": "ADM+IFO", "epirubicin": "EPI",
         "docetaxel+gemcitabine": "GEM+Taxotere"}
LOCAL = {"": "", "radiotherapy": "RT", "surgery": "Surgery", "radiofrequency_ablation": "RFA"}
REASON = {"progression": "PD", "adverse_event": "Tox", "other": "Refused", "ongoing": "Ongoing"}
AE_TERMS = ("Neutropenia", "Nausea", "Fatigue", "Hypothyroidism", "ALT increased",
            "Hypertension", "Rash", "Diarrhoea", "Proteinuria", "Anemia")
REMARKS = ("", "", "", "外院转入", "", "CT q8w", "", "", "随访电话已更新", "", "")


def _date(value: dt.date | None) -> str:
    return "" if value is None else value.strftime("%d-%b-%Y")


def _serial(value: dt.date | None) -> int | None:
    """An Excel day number, as a sheet shows a date cell formatted as a number."""
    return None if value is None else (value - EXCEL_EPOCH).days


class _Turns:
    """Each canonical value's spellings, used in turn (a hospital rarely spells consistently)."""

    def __init__(self, spellings: dict[str, tuple[str, ...]]):
        self.spellings, self.used = spellings, {}

    def __call__(self, code: str) -> str:
        if not code:
            return ""
        k = self.used.get(code, 0)
        self.used[code] = k + 1
        options = self.spellings[code]
        return options[k % len(options)]


def _patient(i: int, rng: np.random.Generator) -> dict:
    day = lambda lo, hi: int(rng.integers(lo, hi + 1))  # noqa: E731
    sex = "female" if rng.random() < 0.45 else "male"
    age = day(21, 72)
    histology = str(rng.choice(list(HISTOLOGY), p=np.array(list(HISTOLOGY.values())) / sum(HISTOLOGY.values())))
    start = dt.date(2021, 6, 1) + dt.timedelta(days=day(0, 760))
    prior = day(0, 3)
    pfs = 42 + int(rng.exponential(700 if histology == "ASPS" else 300))
    survival = pfs + 60 + int(rng.exponential(420))
    progression = start + dt.timedelta(days=pfs)
    death = start + dt.timedelta(days=survival)
    progression = progression if progression <= CUTOFF else None
    death = death if death <= CUTOFF else None
    if death is not None:
        last = death
    else:
        last = CUTOFF - dt.timedelta(days=day(0, 45))
        last = max(last, progression or start, start + dt.timedelta(days=30))
    stop, stop_day = rng.random(), day(60, 180)
    if stop < 0.2 and stop_day < pfs:
        reason, end = "adverse_event", start + dt.timedelta(days=stop_day)
    elif stop < 0.3 and stop_day < pfs:
        reason, end = "other", start + dt.timedelta(days=stop_day)
    elif progression is not None:
        reason, end = "progression", min(progression + dt.timedelta(days=day(0, 10)), last)
    else:
        reason, end = "ongoing", None
    if end is not None and end > last:
        end = last
    early_pd = progression is not None and pfs < 90
    best = "PD" if early_pd else str(rng.choice(["CR", "PR", "SD", "SD", "SD", "PR"]))
    return {
        "sex": sex, "age": age, "histology": histology,
        "primary_site": str(rng.choice(["extremity", "extremity", "trunk", "retroperitoneum", "other"])),
        "lung": bool(rng.random() < 0.7), "other_met": bool(rng.random() < 0.4),
        "ecog": int(rng.choice([0, 1, 1, 1, 2])), "prior_lines": prior, "line": prior + 1,
        "start": start, "pd1": str(rng.choice(list(PD1_SPELLINGS), p=[0.45, 0.3, 0.15, 0.1])),
        "antiangiogenic": str(rng.choice(["anlotinib", "anlotinib", "apatinib", ""])),
        "chemo": str(rng.choice(list(CHEMO), p=[0.5, 0.15, 0.15, 0.1, 0.1])),
        "local": str(rng.choice(list(LOCAL), p=[0.6, 0.2, 0.1, 0.1])),
        "end": end, "reason": reason, "best": best, "progression": progression,
        "death": death, "last": last,
    }


def _identity(sex: str, age: int, start: dt.date, rng: np.random.Generator, taken: set) -> dict:
    while True:
        given = "".join(GIVEN_NAME_CHARS[sex][int(rng.integers(len(GIVEN_NAME_CHARS[sex])))]
                        for _ in range(int(rng.integers(1, 3))))
        name = SURNAMES[int(rng.integers(len(SURNAMES)))] + given
        mrn = f"SD{int(rng.integers(0, 10**7)):07d}"
        if name not in taken and mrn not in taken:
            taken.update({name, mrn})
            break
    phone = PHONE_PREFIXES[int(rng.integers(len(PHONE_PREFIXES)))] + f"{int(rng.integers(0, 10**8)):08d}"
    birth = start.replace(year=start.year - age - 1) + dt.timedelta(days=int(rng.integers(1, 360)))
    seq = int(rng.integers(0, 100)) * 10 + int(rng.integers(0, 5)) * 2 + (1 if sex == "male" else 0)
    first17 = REGION_CODES[int(rng.integers(len(REGION_CODES)))] + birth.strftime("%Y%m%d") + f"{seq:03d}"
    return {"mrn": mrn, "name": name, "phone": phone, "national_id": first17 + id_check_char(first17)}


def site_d_frames(seed: int = SEED, n: int = N_PATIENTS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The two sheets of site_d's workbook: patients (one row each) and adverse events (long)."""
    rng = np.random.default_rng(seed)
    taken: set = set()
    histology, site = _Turns(HISTOLOGY_SPELLINGS), _Turns(SITE_SPELLINGS)
    pd1, antiangiogenic = _Turns(PD1_SPELLINGS), _Turns(ANTIANGIOGENIC_SPELLINGS)
    rows, events = [], []
    patients = sorted((_patient(i, rng) for i in range(n)), key=lambda p: p["start"])
    for i, p in enumerate(patients):
        who = _identity(p["sex"], p["age"], p["start"], rng, taken)
        rows.append({
            "Pt_ID": who["mrn"], "XingMing": who["name"], "ShouJi": who["phone"],
            "SFZ": who["national_id"], "Gender": "F" if p["sex"] == "female" else "M",
            "Age_yr": p["age"], "Path_Dx": histology(p["histology"]),
            "Primary": site(p["primary_site"]), "Lung_Met": "Y" if p["lung"] else "N",
            "Other_Met": "Y" if p["other_met"] else "N", "ECOG_PS": f"ECOG {p['ecog']}",
            "Prior_Lines": p["prior_lines"], "Line_No": p["line"], "Tx_Start": _date(p["start"]),
            "PD1": pd1(p["pd1"]), "Anti_VEGF": antiangiogenic(p["antiangiogenic"]),
            "Chemo": CHEMO[p["chemo"]], "Local_Tx": LOCAL[p["local"]],
            "Tx_End": _serial(p["end"]), "Stop_Reason": REASON[p["reason"]], "BOR": p["best"],
            "PD_Date": _date(p["progression"]), "Death_Date": _date(p["death"]),
            "LFU_Date": _date(p["last"]), "Remarks": REMARKS[i % len(REMARKS)],
        })
        span = max((p["last"] - p["start"]).days, 1)
        for _ in range(int(rng.integers(0, 4))):
            onset = p["start"] + dt.timedelta(days=int(rng.integers(7, max(span, 8))))
            events.append({"Pt_ID": who["mrn"], "AE_Term": str(rng.choice(AE_TERMS)),
                           "Grade": f"G{int(rng.choice([1, 1, 2, 2, 3]))}", "Onset": onset})
    ae = pd.DataFrame(events).sort_values(["Onset", "Pt_ID"], kind="stable")
    ae["Onset"] = ae["Onset"].map(_date)
    return pd.DataFrame(rows).astype(object), ae.reset_index(drop=True)


def write_site_d(out_dir: Path = EXPORT_DIR) -> Path:
    """Write site_d's workbook into ``out_dir`` (created if needed); return its path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    patients, events = site_d_frames()
    path = out / EXPORT_NAME
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        patients.to_excel(writer, sheet_name=PATIENT_SHEET, index=False)
        events.to_excel(writer, sheet_name=AE_SHEET, index=False)
    return path


def main(argv: list[str] | None = None) -> None:
    import argparse
    parser = argparse.ArgumentParser(description="Write the synthetic site_d export (a fourth, "
                                                 "non-study center for practising new-center).")
    parser.add_argument("out_dir", nargs="?", type=Path, default=EXPORT_DIR)
    print(write_site_d(parser.parse_args(argv).out_dir))
