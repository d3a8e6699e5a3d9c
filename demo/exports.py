"""Write the synthetic cohort as three hospital exports, each in its own shape.

Run ``python -m harmonise.demo.exports`` (``make exports``) to regenerate ``demo/study/inbox/``
(committed: the example project's exports). The three
shapes differ the way real hospital exports differ:

- site_a: UTF-8 CSV, English headers, ISO dates, patients and adverse events in two
  long files.
- site_b: Excel workbook, Chinese headers, 男/女 and 是/否, dates written 2022/03/15,
  one column per adverse event holding the worst grade (wide).
- site_c: semicolon-separated GBK CSV, sex coded 1/2, ECOG written "PS 1", the regimen as
  one string, the start date as 15.03.2021 and later events as days from the start.

Each export also carries direct identifiers (names, medical record numbers, phones and,
at site_b, national ID numbers) exactly as a hospital would send them; the mappings
drop or pseudonymise them. All of it is synthetic.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from harmonise.demo.cohort import DEFAULT_SEED, Cohort, build_cohort

EXPORTS_DIR = Path(__file__).parent / "study" / "inbox"   # the example project's inbox

# -- each hospital's own spellings of the canonical codes ------------------------------
ENGLISH_SITE = {"extremity": "Extremity", "trunk": "Trunk", "retroperitoneum": "Retroperitoneum",
                "other": "Other"}
ENGLISH_HISTOLOGY = {
    "ASPS": "Alveolar soft part sarcoma", "UPS": "Undifferentiated pleomorphic sarcoma",
    "DDLPS": "Dedifferentiated liposarcoma", "MFS": "Myxofibrosarcoma", "AS": "Angiosarcoma",
    "SS": "Synovial sarcoma", "LMS": "Leiomyosarcoma", "CCS": "Clear cell sarcoma",
    "MPNST": "Malignant peripheral nerve sheath tumor", "ES": "Epithelioid sarcoma"}
ENGLISH_REASON = {"progression": "Disease progression", "adverse_event": "Adverse event",
                  "other": "Other", "ongoing": "Ongoing"}
ENGLISH_LOCAL = {"radiotherapy": "Radiotherapy", "radiofrequency_ablation": "Radiofrequency ablation",
                 "surgery": "Surgery"}
ENGLISH_AE = {
    "myelosuppression": "Myelosuppression", "gastrointestinal_reaction": "Gastrointestinal reaction",
    "fatigue": "Fatigue", "abnormal_liver_function": "Abnormal liver function",
    "renal_insufficiency": "Renal insufficiency", "hypertension": "Hypertension",
    "thyroid_dysfunction": "Thyroid dysfunction", "rash": "Rash", "hyperglycemia": "Hyperglycemia",
    "cytokine_release_syndrome": "Cytokine release syndrome"}

CHINESE_HISTOLOGY = {
    "ASPS": "腺泡状软组织肉瘤", "UPS": "未分化多形性肉瘤", "DDLPS": "去分化脂肪肉瘤",
    "MFS": "黏液纤维肉瘤", "AS": "血管肉瘤", "SS": "滑膜肉瘤", "LMS": "平滑肌肉瘤",
    "CCS": "透明细胞肉瘤", "MPNST": "恶性外周神经鞘膜瘤", "ES": "上皮样肉瘤"}
CHINESE_SITE = {"extremity": "四肢", "trunk": "躯干", "retroperitoneum": "腹膜后", "other": "其他"}
CHINESE_AGENT = {
    "sintilimab": "信迪利单抗", "camrelizumab": "卡瑞利珠单抗", "toripalimab": "特瑞普利单抗",
    "geptanolimab": "杰诺单抗", "anlotinib": "安罗替尼", "apatinib": "阿帕替尼",
    "lenvatinib": "仑伐替尼", "pazopanib": "培唑帕尼", "doxorubicin": "多柔比星",
    "epirubicin": "表柔比星", "ifosfamide": "异环磷酰胺", "gemcitabine": "吉西他滨",
    "docetaxel": "多西他赛", "eribulin": "艾立布林", "albumin_bound_paclitaxel": "白蛋白紫杉醇"}
CHINESE_LOCAL = {"radiotherapy": "放疗", "radiofrequency_ablation": "射频消融", "surgery": "手术"}
CHINESE_REASON = {"progression": "疾病进展", "adverse_event": "不良反应", "other": "其他",
                  "ongoing": "继续治疗"}
CHINESE_AE = {
    "myelosuppression": "骨髓抑制", "gastrointestinal_reaction": "胃肠道反应", "fatigue": "乏力",
    "abnormal_liver_function": "肝功能异常", "renal_insufficiency": "肾功能不全",
    "hypertension": "高血压", "thyroid_dysfunction": "甲状腺功能异常", "rash": "皮疹",
    "hyperglycemia": "高血糖", "cytokine_release_syndrome": "细胞因子释放综合征"}
SITE_C_LOCAL = {"radiotherapy": "RT", "radiofrequency_ablation": "RFA", "surgery": "Surgery"}
SITE_C_REASON = {"progression": "PD", "adverse_event": "AE", "other": "Other", "ongoing": "Ongoing"}
ENGLISH_AGENT = {"albumin_bound_paclitaxel": "Nab-paclitaxel"}


def _date(value, fmt: str = "%Y-%m-%d") -> str:
    return "" if value is None or pd.isna(value) else pd.Timestamp(value).strftime(fmt)


def _days(value, start) -> str:
    return "" if value is None or pd.isna(value) else str((pd.Timestamp(value) - pd.Timestamp(start)).days)


def _agents(joined: str, spelling: dict[str, str], sep: str, default=str.capitalize) -> str:
    if not joined:
        return ""
    return sep.join(spelling.get(a, default(a)) for a in joined.split("+"))


def _yes_no(flag: bool, yes: str, no: str) -> str:
    return yes if flag else no


def site_a_frames(patients: pd.DataFrame, events: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """site_a: English long files (patients, adverse events)."""
    p = patients
    out = pd.DataFrame({
        "MRN": p.mrn, "Patient name": p.name, "Phone": p.phone,
        "Sex": p.sex.str.capitalize(), "Age": p.age_years,
        "Histology": p.histology.map(ENGLISH_HISTOLOGY), "Primary site": p.primary_site.map(ENGLISH_SITE),
        "Lung metastasis": p.lung_metastasis.map(lambda f: _yes_no(f, "Yes", "No")),
        "Other metastasis": p.other_metastasis.map(lambda f: _yes_no(f, "Yes", "No")),
        "ECOG": p.ecog, "Prior systemic lines": p.prior_lines, "Treatment line": p.line_of_therapy,
        "Start date": p.start_date.map(_date),
        "PD-1 inhibitor": p.immunotherapy_agent.str.capitalize(),
        "Anti-angiogenic agent": p.antiangiogenic_agents.map(lambda a: _agents(a, ENGLISH_AGENT, "+")),
        "Chemotherapy": p.cytotoxic_agents.map(lambda a: _agents(a, ENGLISH_AGENT, "+")),
        "Local therapy": p.local_treatment.map(lambda v: ENGLISH_LOCAL.get(v, "")),
        "End of treatment": p.end_date.map(_date),
        "Reason for discontinuation": p.discontinuation_reason.map(ENGLISH_REASON),
        "Best response": p.best_response,
        "Progression date": p.progression_date.map(_date), "Death date": p.death_date.map(_date),
        "Last follow-up": p.last_followup_date.map(_date),
        "Comments": ["Re-staged every 8 weeks" if i % 7 == 0 else "" for i in range(len(p))],
    })
    ae = pd.DataFrame({"MRN": events.mrn, "AE term": events.term.map(ENGLISH_AE),
                       "CTCAE grade": events.grade, "Onset date": events.onset_date.map(_date)})
    return out, ae


def site_b_frame(patients: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """site_b: one Chinese-headed sheet, adverse events wide (worst grade per term)."""
    p = patients
    out = pd.DataFrame({
        "住院号": p.mrn, "姓名": p.name, "联系电话": p.phone, "身份证号": p.national_id,
        "性别": p.sex.map({"female": "女", "male": "男"}), "年龄": p.age_years,
        "病理类型": p.histology.map(CHINESE_HISTOLOGY), "原发部位": p.primary_site.map(CHINESE_SITE),
        "肺转移": p.lung_metastasis.map(lambda f: _yes_no(f, "是", "否")),
        "其他部位转移": p.other_metastasis.map(lambda f: _yes_no(f, "是", "否")),
        "ECOG评分": p.ecog, "既往系统治疗线数": p.prior_lines, "本次治疗线数": p.line_of_therapy,
        "治疗开始日期": p.start_date.map(lambda d: _date(d, "%Y/%m/%d")),
        "PD-1抑制剂": p.immunotherapy_agent.map(CHINESE_AGENT),
        "抗血管生成药物": p.antiangiogenic_agents.map(lambda a: _agents(a, CHINESE_AGENT, "、")),
        "化疗药物": p.cytotoxic_agents.map(lambda a: _agents(a, CHINESE_AGENT, "、")),
        "局部治疗": p.local_treatment.map(lambda v: CHINESE_LOCAL.get(v, "")),
        "治疗结束日期": p.end_date.map(lambda d: _date(d, "%Y/%m/%d")),
        "停药原因": p.discontinuation_reason.map(CHINESE_REASON),
        "最佳疗效": p.best_response,
        "疾病进展日期": p.progression_date.map(lambda d: _date(d, "%Y/%m/%d")),
        "死亡日期": p.death_date.map(lambda d: _date(d, "%Y/%m/%d")),
        "末次随访日期": p.last_followup_date.map(lambda d: _date(d, "%Y/%m/%d")),
    })
    worst = events.groupby(["mrn", "term"])["grade"].max().unstack()
    for term, header in CHINESE_AE.items():
        grades = p.mrn.map(worst[term]) if term in worst else pd.Series(None, index=p.index)
        out[header] = grades.map(lambda g: "" if pd.isna(g) else str(int(g)))
    return out


def site_c_frames(patients: pd.DataFrame, events: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """site_c: coded values, regimen as one string, times as days (onset: weeks) from start."""
    p = patients

    def regimen(row) -> str:
        agents = [*row.cytotoxic_agents.split("+"), *row.antiangiogenic_agents.split("+"), row.immunotherapy_agent]
        return " + ".join(ENGLISH_AGENT.get(a, a.capitalize()) for a in agents if a)

    out = pd.DataFrame({
        "BAH": p.mrn, "XM": p.name, "TEL": p.phone,
        "SEX": p.sex.map({"male": "1", "female": "2"}), "AGE": p.age_years,
        "DIAGNOSIS": p.histology.map(CHINESE_HISTOLOGY), "PRIMARY": p.primary_site.map(CHINESE_SITE),
        "MET_LUNG": p.lung_metastasis.map(lambda f: _yes_no(f, "1", "0")),
        "MET_OTHER": p.other_metastasis.map(lambda f: _yes_no(f, "1", "0")),
        "ECOG": p.ecog.map(lambda e: f"PS {e}"), "PRIOR_LINES": p.prior_lines, "LINE": p.line_of_therapy,
        "START": p.start_date.map(lambda d: _date(d, "%d.%m.%Y")),
        "REGIMEN": p.apply(regimen, axis=1),
        "LOCAL_TX": p.local_treatment.map(lambda v: SITE_C_LOCAL.get(v, "")),
        "STOP_DAY": [_days(e, s) for e, s in zip(p.end_date, p.start_date)],
        "STOP_REASON": p.discontinuation_reason.map(SITE_C_REASON),
        "BOR": p.best_response,
        "PD_DAY": [_days(e, s) for e, s in zip(p.progression_date, p.start_date)],
        "DEATH_DAY": [_days(e, s) for e, s in zip(p.death_date, p.start_date)],
        "LAST_DAY": [_days(e, s) for e, s in zip(p.last_followup_date, p.start_date)],
    })
    start = p.set_index("mrn").start_date
    weeks = [(pd.Timestamp(d) - pd.Timestamp(start[m])).days // 7 for m, d in zip(events.mrn, events.onset_date)]
    ae = pd.DataFrame({"BAH": events.mrn, "AE": events.term.map(CHINESE_AE),
                       "GRADE": events.grade.map(lambda g: f"{int(g)}级"), "ONSET_WEEK": weeks})
    # Recorded by week, two episodes of one term and grade in the same week are one row.
    return out, ae.drop_duplicates(ignore_index=True)


def write_exports(cohort: Cohort, out_dir: Path = EXPORTS_DIR) -> list[Path]:
    """Write every center's export files under ``out_dir/<center>/``; return their paths."""
    written = []
    by_center = {c: g.reset_index(drop=True) for c, g in cohort.patients.groupby("center_id")}
    events = {c: g.reset_index(drop=True) for c, g in cohort.adverse_events.groupby("center_id")}
    empty = cohort.adverse_events.iloc[0:0]

    def target(center: str, name: str) -> Path:
        folder = Path(out_dir) / center
        folder.mkdir(parents=True, exist_ok=True)
        written.append(folder / name)
        return folder / name

    patients_a, ae_a = site_a_frames(by_center["site_a"], events.get("site_a", empty))
    patients_a.to_csv(target("site_a", "site_a_patients.csv"), index=False, encoding="utf-8")
    ae_a.to_csv(target("site_a", "site_a_adverse_events.csv"), index=False, encoding="utf-8")

    sheet_b = site_b_frame(by_center["site_b"], events.get("site_b", empty))
    with pd.ExcelWriter(target("site_b", "site_b_export.xlsx"), engine="openpyxl") as writer:
        sheet_b.to_excel(writer, sheet_name="患者数据", index=False)

    patients_c, ae_c = site_c_frames(by_center["site_c"], events.get("site_c", empty))
    patients_c.to_csv(target("site_c", "site_c_patients.csv"), index=False, sep=";", encoding="gbk")
    ae_c.to_csv(target("site_c", "site_c_adverse_events.csv"), index=False, sep=";", encoding="gbk")
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description="Regenerate the synthetic demo exports.")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=EXPORTS_DIR)
    args = parser.parse_args()
    for path in write_exports(build_cohort(seed=args.seed), args.out):
        print(path)


if __name__ == "__main__":
    main()
