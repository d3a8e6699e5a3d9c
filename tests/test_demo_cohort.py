"""The synthetic demo cohort reproduces the reference study's published numbers.

Expected values are read from demo/study/published.yaml (the paper's
numbers after errata), never from the generator's own constants.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from harmonise.demo.cohort import (
    CUTOFF, DEFAULT_SEED, Cohort, build_cohort, chemo_backbone, id_check_char, regimen_class,
)

PUBLISHED = yaml.safe_load(
    (Path(__file__).resolve().parents[1] / "demo/study/published.yaml").read_text("utf-8"))
HISTOLOGIES = list(PUBLISHED["table1"])
SEEDS = [DEFAULT_SEED, 1, 2024]
MONTH = 30.4375


@pytest.fixture(scope="module", params=SEEDS, ids=lambda s: f"seed{s}")
def cohort(request) -> Cohort:
    return build_cohort(seed=request.param)


@pytest.fixture(scope="module")
def patients(cohort) -> pd.DataFrame:
    p = cohort.patients.copy()
    p["regimen"] = [regimen_class(a, c) for a, c in
                    zip(p["antiangiogenic_agents"], p["cytotoxic_agents"])]
    p["asps"] = p["histology"] == "ASPS"
    return p


def _median(values) -> float:
    return float(pd.Series(list(values)).median())


def _table1_counts(group: pd.DataFrame) -> dict:
    """The count rows of Table 1 for one group of patients, shaped like the YAML."""
    def counts(column, keys):
        vc = group[column].value_counts()
        return {k: int(vc.get(k, 0)) for k in keys}
    return {
        "n": len(group),
        "sex": counts("sex", ["female", "male"]),
        "primary_site": counts("primary_site", ["extremity", "retroperitoneum", "trunk", "other"]),
        "metastasis": {"lung": int(group["lung_metastasis"].sum()),
                       "other": int(group["other_metastasis"].sum())},
        "ecog": counts("ecog", [0, 1, 2, 3]),
        "regimen": counts("regimen", ["I", "I+A", "I+C", "I+A+C"]),
        "local_treatment": int((group["local_treatment"] != "").sum()),
    }


# ------------------------------------------------------------------ centres


def test_center_sizes_match_published(patients):
    sizes = patients["center_id"].value_counts().to_dict()
    assert sizes == {c: v["n"] for c, v in PUBLISHED["centers"].items()}
    assert len(patients) == PUBLISHED["n_patients"]


def test_start_dates_fall_inside_each_center_enrolment_window(patients):
    for center, spec in PUBLISHED["centers"].items():
        first, last = spec["window"]
        starts = patients.loc[patients["center_id"] == center, "start_date"]
        assert starts.min() >= first and starts.max() <= last, center


# ------------------------------------------------------------------ Table 1


@pytest.mark.parametrize("histology", HISTOLOGIES)
def test_table1_counts_match_published_per_histology(patients, histology):
    published = {k: v for k, v in PUBLISHED["table1"][histology].items()
                 if k not in ("age", "prior_lines")}
    assert _table1_counts(patients[patients["histology"] == histology]) == published


def test_table1_totals_match_published(patients):
    published = {k: v for k, v in PUBLISHED["table1_total"].items()
                 if k not in ("age", "prior_lines")}
    assert _table1_counts(patients) == published


def test_age_median_and_range_match_published_per_histology(patients):
    for histology in HISTOLOGIES:
        ages = patients.loc[patients["histology"] == histology, "age_years"]
        spec = PUBLISHED["table1"][histology]["age"]
        assert (_median(ages), ages.min(), ages.max()) == (
            spec["median"], spec["min"], spec["max"]), histology


def test_pooled_age_median_and_range_match_published(patients):
    spec = PUBLISHED["table1_total"]["age"]
    ages = patients["age_years"]
    assert (_median(ages), ages.min(), ages.max()) == (spec["median"], spec["min"], spec["max"])
    assert ages.map(type).eq(int).all()


def test_prior_lines_median_and_range_match_published_per_histology(patients):
    for histology in HISTOLOGIES:
        lines = patients.loc[patients["histology"] == histology, "prior_lines"]
        spec = PUBLISHED["table1"][histology]["prior_lines"]
        assert (_median(lines), lines.min(), lines.max()) == (
            spec["median"], spec["min"], spec["max"]), histology


def test_pooled_prior_lines_match_published(patients):
    spec = PUBLISHED["table1_total"]["prior_lines"]
    lines = patients["prior_lines"]
    assert (_median(lines), lines.min(), lines.max()) == (spec["median"], spec["min"], spec["max"])
    assert int((lines >= 1).sum()) == spec["any"]
    assert int((lines == 0).sum()) == spec["none"]
    assert (patients["line_of_therapy"] == lines + 1).all()


def test_line_groups_match_published(patients):
    early = patients["line_of_therapy"] <= 2
    for key, mask in (("le2_lines", early), ("later_lines", ~early)):
        spec = PUBLISHED["line_groups"][key]
        assert int(mask.sum()) == spec["total"]
        assert int((mask & patients["asps"]).sum()) == spec["ASPS"]
        assert int((mask & ~patients["asps"]).sum()) == spec["non_ASPS"]


# ------------------------------------------------------------------ regimens


def _agent_key(row) -> str:
    agents = [row["immunotherapy_agent"], row["antiangiogenic_agents"], row["cytotoxic_agents"]]
    return "+".join(sorted(a for part in agents if part for a in part.split("+")))


def test_regimen_agents_match_text(patients):
    spec = PUBLISHED["regimens"]
    keys = patients.apply(_agent_key, axis=1)
    reg, asps = patients["regimen"], patients["asps"]
    assert keys[asps & (reg == "I+A")].value_counts().to_dict() == spec["asps_i_a"]
    assert keys[~asps & (reg == "I+A")].value_counts().to_dict() == spec["non_asps_i_a"]
    assert keys[reg == "I+A+C"].value_counts().to_dict() == spec["i_a_c"]
    backbones = patients.loc[reg == "I+C", "cytotoxic_agents"].map(chemo_backbone)
    assert backbones.value_counts().to_dict() == spec["i_c_backbone"]
    mono = reg == "I"
    assert {"ASPS": int((mono & asps).sum()), "non_ASPS": int((mono & ~asps).sum())} \
        == spec["monotherapy"]


def test_agent_codes_are_canonical(patients):
    spec = PUBLISHED["regimens"]
    assert set(patients["immunotherapy_agent"]) <= set(spec["pd1_agents"])
    allowed = {
        "antiangiogenic_agents": set(spec["antiangiogenic_agents"]),
        "cytotoxic_agents": {"doxorubicin", "ifosfamide", "gemcitabine", "eribulin",
                             "albumin_bound_paclitaxel", "epirubicin", "docetaxel"},
    }
    for column, codes in allowed.items():
        for value in patients[column]:
            parts = value.split("+") if value else []
            assert parts == sorted(parts) and set(parts) <= codes, value
    # the text names geptanolimab among the PD-1 agents; the demo uses all four
    assert set(patients["immunotherapy_agent"]) == set(spec["pd1_agents"])
    assert "geptanolimab" in set(patients.loc[patients["regimen"] == "I", "immunotherapy_agent"])


def test_local_treatment_matches_table1_and_asps_text(patients):
    local = patients["local_treatment"]
    assert set(local) <= {"", "radiotherapy", "radiofrequency_ablation", "surgery"}
    assert int((local != "").sum()) == PUBLISHED["local_treatment"]["total"]
    asps_types = local[patients["asps"] & (local != "")].value_counts().to_dict()
    assert asps_types == PUBLISHED["local_treatment"]["ASPS"]


# ------------------------------------------------------------------ efficacy


def test_best_response_matches_published(patients):
    spec = PUBLISHED["best_response"]
    bor = patients["best_response"]
    assert bor.value_counts().to_dict() == spec["overall"]
    for group, mask in (("ASPS", patients["asps"]), ("non_ASPS", ~patients["asps"])):
        counts = bor[mask].value_counts()
        assert {k: int(counts.get(k, 0)) for k in spec[group]} == spec[group]
        orr = 100 * bor[mask].isin(["CR", "PR"]).mean()
        assert round(orr, 1) == spec["orr_percent"][group]
    assert round(100 * bor.isin(["CR", "PR"]).mean(), 1) == spec["orr_percent"]["overall"]
    assert round(100 * bor.isin(["CR", "PR", "SD"]).mean(), 1) == spec["dcr_percent"]["overall"]


def test_discontinuation_reasons_match_published(patients):
    counts = patients["discontinuation_reason"].value_counts().to_dict()
    assert counts == PUBLISHED["discontinuation"]


def test_ongoing_patients_are_alive_progression_free_and_followed_to_cutoff(patients):
    ongoing = patients[patients["discontinuation_reason"] == "ongoing"]
    assert ongoing["end_date"].isna().all()
    assert ongoing["progression_date"].isna().all()
    assert ongoing["death_date"].isna().all()
    assert (ongoing["last_followup_date"] == CUTOFF).all()
    stopped = patients[patients["discontinuation_reason"] != "ongoing"]
    assert stopped["end_date"].notna().all()


def test_progression_discontinuations_end_at_progression(patients):
    prog = patients[patients["discontinuation_reason"] == "progression"]
    assert prog["progression_date"].notna().all()
    assert (prog["end_date"] == prog["progression_date"]).all()


def test_pd_patients_progress_at_first_assessment(patients):
    pd_rows = patients[patients["best_response"] == "PD"]
    assert pd_rows["progression_date"].notna().all()
    pfs_months = (pd_rows["progression_date"] - pd_rows["start_date"]).map(lambda d: d.days) / MONTH
    assert pfs_months.between(1, 5).all()


def test_dates_are_ordered_and_never_after_cutoff(patients):
    for row in patients.itertuples():
        assert isinstance(row.start_date, dt.date)
        dates = [d for d in (row.start_date, row.end_date, row.progression_date,
                             row.death_date, row.last_followup_date) if d is not None]
        assert max(dates) <= CUTOFF
        assert row.last_followup_date == max(dates)
        assert row.end_date is None or row.end_date >= row.start_date
        if row.progression_date is not None:
            assert row.start_date <= row.progression_date
            assert row.death_date is None or row.progression_date <= row.death_date
        if row.death_date is not None:
            assert row.last_followup_date == row.death_date
            assert row.start_date <= row.death_date


def test_typical_cases_of_the_paper_are_present(patients):
    keys = patients.apply(_agent_key, axis=1)
    for name, spec in PUBLISHED["typical_cases"].items():
        rows = patients[(patients["histology"] == spec["histology"]) & (keys == spec["agents"])
                        & (patients["prior_lines"] == spec["prior_lines"])
                        & (patients["best_response"] == spec["best_response"])]
        assert len(rows) >= 1, name
    ups_spec = PUBLISHED["typical_cases"]["ups"]
    ups = patients[(keys == ups_spec["agents"]) & (patients["histology"] == "UPS")
                   & (patients["discontinuation_reason"] == "adverse_event")]
    assert len(ups) == 1
    case = ups.iloc[0]
    assert case["primary_site"] == ups_spec["primary_site"] and case["lung_metastasis"]
    assert case["progression_date"] is None and case["death_date"] is None
    on_treatment = (case["end_date"] - case["start_date"]).days / MONTH
    after_stop = (CUTOFF - case["end_date"]).days / MONTH
    assert round(on_treatment) == ups_spec["months_on_treatment"]
    assert round(after_stop) == ups_spec["months_stable_after_stop"]


# ------------------------------------------------------------------ adverse events


def test_table2_cells_match_worst_grade_per_patient_per_term(cohort):
    worst = cohort.adverse_events.groupby(["mrn", "term"])["grade"].max().reset_index()
    for term, spec in PUBLISHED["table2"].items():
        grades = worst.loc[worst["term"] == term, "grade"].value_counts()
        observed = {f"grade{g}": int(grades.get(g, 0)) for g in (1, 2, 3, 4)}
        observed["any"] = int((worst["term"] == term).sum())
        assert observed == spec, term
    assert set(worst["term"]) == set(PUBLISHED["table2"])


def test_adverse_event_patient_count_and_grades_match_published(cohort):
    ae = cohort.adverse_events
    assert ae["mrn"].nunique() == PUBLISHED["adverse_events"]["patients_with_any"]
    assert int((ae["grade"] == 5).sum()) == PUBLISHED["adverse_events"]["grade5"]
    assert ae["grade"].between(1, 5).all()
    assert set(ae["mrn"]) <= set(cohort.patients["mrn"])


def test_adverse_event_onsets_fall_within_treatment(cohort):
    p = cohort.patients.set_index("mrn")
    for ev in cohort.adverse_events.itertuples():
        row = p.loc[ev.mrn]
        assert ev.center_id == row["center_id"]
        bound = min(row["end_date"] or row["last_followup_date"], CUTOFF)
        assert row["start_date"] <= ev.onset_date <= bound


def test_site_c_adverse_event_onsets_are_whole_weeks_after_start(cohort):
    p = cohort.patients.set_index("mrn")
    site_c = cohort.adverse_events[cohort.adverse_events["center_id"] == "site_c"]
    assert len(site_c) > 0
    for ev in site_c.itertuples():
        assert (ev.onset_date - p.loc[ev.mrn, "start_date"]).days % 7 == 0


def test_adverse_event_discontinuations_follow_a_severe_event(cohort):
    p, ae = cohort.patients, cohort.adverse_events
    for row in p[p["discontinuation_reason"] == "adverse_event"].itertuples():
        severe = ae[(ae["mrn"] == row.mrn) & (ae["grade"] >= 3)]
        assert (severe["onset_date"] <= row.end_date).any(), row.mrn


# ------------------------------------------------------------------ identities


def test_identifiers_are_unique(patients):
    assert patients["mrn"].is_unique
    assert patients["phone"].is_unique
    assert patients["national_id"].is_unique
    assert not patients.duplicated(["center_id", "name"]).any()


def test_identifiers_follow_center_and_national_formats(patients):
    mrn_pattern = {"site_a": r"HN\d{7}", "site_b": r"[1-9]\d{7}", "site_c": r"ZY-\d{6}"}
    for row in patients.itertuples():
        assert re.fullmatch(mrn_pattern[row.center_id], row.mrn), row.mrn
        assert re.fullmatch(r"1[358]\d{9}", row.phone), row.phone
        assert re.fullmatch(r"[\u4e00-\u9fff]{2,3}", row.name), row.name
        nid = row.national_id
        assert re.fullmatch(r"\d{17}[\dX]", nid) and nid[-1] == id_check_char(nid[:17])
        birth = dt.datetime.strptime(nid[6:14], "%Y%m%d").date()
        start = row.start_date
        age = start.year - birth.year - ((start.month, start.day) < (birth.month, birth.day))
        assert age == row.age_years
        assert int(nid[16]) % 2 == (1 if row.sex == "male" else 0)
        assert 18 <= row.age_years <= 71


# ------------------------------------------------------------------ determinism


def test_same_seed_gives_identical_frames():
    a, b = build_cohort(seed=DEFAULT_SEED), build_cohort(seed=DEFAULT_SEED)
    pd.testing.assert_frame_equal(a.patients, b.patients)
    pd.testing.assert_frame_equal(a.adverse_events, b.adverse_events)


def test_different_seeds_give_different_patients():
    a, b = build_cohort(seed=DEFAULT_SEED), build_cohort(seed=DEFAULT_SEED + 1)
    assert not a.patients["mrn"].equals(b.patients["mrn"])


def test_patient_columns_and_codes_are_canonical(patients, cohort):
    assert list(cohort.patients.columns) == [
        "center_id", "mrn", "name", "phone", "national_id", "sex", "age_years", "histology",
        "primary_site", "lung_metastasis", "other_metastasis", "ecog", "prior_lines",
        "line_of_therapy", "start_date", "immunotherapy_agent", "antiangiogenic_agents",
        "cytotoxic_agents", "local_treatment", "end_date", "discontinuation_reason",
        "best_response", "progression_date", "death_date", "last_followup_date"]
    assert list(cohort.adverse_events.columns) == ["center_id", "mrn", "term", "grade", "onset_date"]
    assert set(patients["histology"]) == set(HISTOLOGIES)
    assert patients["lung_metastasis"].map(type).eq(bool).all()
    assert (patients["lung_metastasis"] | patients["other_metastasis"]).all()
