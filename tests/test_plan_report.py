"""A different study plan, written as YAML only, gives its own views and report: OS by sex,
PFS by ECOG 0 vs >= 1, one landmark at 9 months, no published numbers. Its numbers are
checked against lifelines and statsmodels run in this test on times computed here from the canonical
tables (not from the views the plan generated)."""
from __future__ import annotations

import json
import math

import duckdb
import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter
from lifelines.statistics import multivariate_logrank_test
from statsmodels.duration.hazard_regression import PHReg

from harmonise.analysis.report import write_report
from harmonise.flows.settings import Settings
from tests.conftest import ingest_all

PLAN = """\
title: Sex and performance status in the pooled cohort
lead: A small plan written for this test.
time: {unit: months, days_per_month: 30.4375}
endpoints:
  pfs: {label: Progression-free survival, short: PFS,
        events: [progression_date, death_date], censor: last_followup_date}
  os: {label: Overall survival, short: OS, events: [death_date], censor: last_followup_date}
derived:
  ecog_group:
    label: ECOG performance status
    levels:
      "0": {label: ECOG 0, when: {ecog: 0}}
      ">=1": {label: ECOG 1 or more, short: ECOG >= 1, when: {ecog: {min: 1}}}
comparisons:
  os_by_sex: {label: Women vs men, by: sex, groups: [female, male], endpoints: [os]}
  pfs_by_ecog: {label: ECOG 0 vs >= 1, by: ecog_group, groups: ["0", ">=1"], endpoints: [pfs]}
figures:
  - title: Survival by sex and performance status
    panels: [all, os_by_sex, {comparison: pfs_by_ecog, file: ecog}]
landmarks:
  os: [9]
table1:
  columns: sex
  rows:
    - {section: age, title: Age (years), summary: age_years}
    - {section: ecog, title: ECOG performance status, count: ecog_group}
response:
  - {by: ecog_group, title: ECOG performance status}
"""
MONTH = 30.4375


@pytest.fixture(scope="module")
def small_study(tmp_path_factory):
    home = tmp_path_factory.mktemp("small_study")
    plan = home / "plan.yaml"
    plan.write_text(PLAN, encoding="utf-8")
    settings = Settings.demo(home=home, plan_file=plan)
    results = ingest_all(settings)
    assert all(r.status == "loaded" for r in results.values()), results
    html = write_report(settings.warehouse, home / "report", plan=plan)
    numbers = json.loads((html.parent / "numbers" / "report.json").read_text("utf-8"))
    return settings, html, numbers


def _cohort(warehouse) -> pd.DataFrame:
    """Times and events computed from the canonical tables, independently of the views."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        frame = con.sql(
            "SELECT p.center_id, p.sex, p.ecog, t.start_date, o.progression_date, "
            "o.death_date, o.last_followup_date, "
            "(SELECT CAST(value AS DATE) FROM study_config WHERE key = 'cutoff_date') AS cutoff "
            "FROM patient p JOIN treatment t USING (center_id, patient_key) "
            "JOIN outcome o USING (center_id, patient_key) WHERE t.course_no = 1").df()
    for col in ("start_date", "progression_date", "death_date", "last_followup_date", "cutoff"):
        frame[col] = pd.to_datetime(frame[col])
    censor = frame[["last_followup_date", "cutoff"]].min(axis=1)
    for name, event_date in (("os", frame["death_date"]),
                             ("pfs", frame[["progression_date", "death_date"]].min(axis=1))):
        event = event_date.notna() & (event_date <= frame["cutoff"])
        end = event_date.where(event, censor)
        frame[f"{name}_t"] = (end - frame["start_date"]).dt.days / MONTH
        frame[f"{name}_e"] = event
    frame["ecog_group"] = np.where(frame["ecog"] >= 1, ">=1", "0")
    return frame


def _rows(numbers, comparison):
    return [r for r in numbers["comparisons"] if r["comparison"] == comparison]


def test_the_plan_alone_decides_the_reports_comparisons_figures_and_landmarks(small_study):
    _, html, numbers = small_study
    assert {(r["comparison"], r["endpoint"]) for r in numbers["comparisons"]} == {
        ("os_by_sex", "os"), ("pfs_by_ecog", "pfs")}
    assert [f["key"] for f in numbers["figures"]] == [
        "fig1a_pfs_all", "fig1b_os_all", "fig1c_os_os_by_sex", "fig1d_pfs_ecog"]
    assert [(r["endpoint"], r["time"]) for r in numbers["landmarks"]] == [("os", 9.0)]
    assert numbers["paper_comparison"] is None and numbers["meta"]["compare_with_paper"] is False
    assert {r["column"] for r in numbers["table1"]} == {"female", "male", "Total"}
    assert {r["section"] for r in numbers["table1"]} == {"patients", "age", "ecog"}
    text = html.read_text(encoding="utf-8")
    assert "Sex and performance status in the pooled cohort" in text
    assert 'id="paper"' not in text and "ASPS" not in text and "I+A" not in text
    assert "ECOG 1 or more" in text and "Women vs men" in text
    assert "Patient characteristics by sex" in text and "prior lines" not in text


def test_the_plans_views_carry_its_groupings_and_nothing_of_the_reference_study(small_study):
    settings, _, _ = small_study
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        columns = {r[0] for r in con.execute("DESCRIBE v_patient").fetchall()}
        response = {r[0] for r in con.execute("DESCRIBE v_response").fetchall()}
    assert {"ecog_group", "pfs_months", "os_months", "pfs_event", "os_event"} <= columns
    assert not {"regimen_class", "histology_group", "is_asps", "line_group"} & columns
    assert "ecog_group" in response and "is_asps" not in response


@pytest.mark.parametrize("comparison, endpoint, by, groups", [
    ("os_by_sex", "os", "sex", ["female", "male"]),
    ("pfs_by_ecog", "pfs", "ecog_group", ["0", ">=1"]),
])
def test_the_small_plans_numbers_equal_lifelines_on_independently_computed_times(
        small_study, comparison, endpoint, by, groups):
    settings, _, numbers = small_study
    cohort = _cohort(settings.warehouse)
    rows = _rows(numbers, comparison)
    assert [r["group_value"] for r in rows] == groups
    t, e = cohort[f"{endpoint}_t"], cohort[f"{endpoint}_e"]
    lr = multivariate_logrank_test(t, cohort[by], e)
    for r, group in zip(rows, groups):
        mine = cohort[by] == group
        assert r["n"] == int(mine.sum()) and r["events"] == int(e[mine].sum())
        assert math.isclose(r["chi2"], lr.test_statistic, rel_tol=1e-9)
        assert math.isclose(r["p"], lr.p_value, rel_tol=1e-9)
    # hazard ratio of the second group versus the first: Cox stratified by center, Efron
    # ties, by statsmodels (lifelines' fitter stops ~1e-4 short on this near-1 HR)
    x = (cohort[by] == groups[1]).astype(float).to_numpy()[:, None]
    fit = PHReg(t.to_numpy(), x, status=e.astype(int).to_numpy(),
                strata=cohort["center_id"].to_numpy(), ties="efron").fit()
    assert math.isclose(rows[1]["hr"], float(np.exp(fit.params[0])), rel_tol=1e-6)


def test_the_small_plans_landmark_equals_lifelines(small_study):
    settings, _, numbers = small_study
    cohort = _cohort(settings.warehouse)
    kmf = KaplanMeierFitter().fit(cohort["os_t"], cohort["os_e"])
    (landmark,) = numbers["landmarks"]
    assert math.isclose(landmark["survival"], float(kmf.survival_function_at_times(9.0).iloc[0]),
                        rel_tol=1e-12)
