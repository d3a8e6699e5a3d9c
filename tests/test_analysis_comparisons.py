"""The study's comparisons (analysis.comparisons) on the demo warehouse, checked against
lifelines / statsmodels run directly on independently selected subsets."""
from __future__ import annotations

import math

import duckdb
import numpy as np
import pandas as pd
import pytest
from lifelines.statistics import multivariate_logrank_test
from statsmodels.duration.survfunc import SurvfuncRight, survdiff

from harmonise.analysis import comparisons, views
from harmonise.analysis.comparisons import run_comparisons
from harmonise.analysis.plan import Comparison, Condition, Population, load_plan

COMPARISONS = load_plan().comparisons      # the reference study's (demo/study/plan.yaml)

# Populations written out independently of the plan's declarations
POPULATIONS = {
    "asps_vs_non_asps": lambda p: p.index == p.index,
    "histology_groups": lambda p: p.index == p.index,
    "potentially_sensitive_vs_other": lambda p: p["histology"] != "ASPS",
    "monotherapy_vs_combination": lambda p: p.index == p.index,
    "asps_combination_vs_monotherapy": lambda p: p["histology"] == "ASPS",
    "non_asps_regimens": lambda p: (p["histology"] != "ASPS") & (p["regimen_class"] != "I"),
    "le2_vs_later_lines": lambda p: p.index == p.index,
    "asps_le2_vs_later_lines": lambda p: p["histology"] == "ASPS",
    "non_asps_le2_vs_later_lines": lambda p: p["histology"] != "ASPS",
    "potentially_sensitive_le2_vs_later_lines":
        lambda p: p["histology"].isin(["UPS", "DDLPS", "MFS", "AS"]),
    "other_le2_vs_later_lines":
        lambda p: p["histology"].isin(["SS", "ES", "LMS", "CCS", "MPNST"]),
}
ENDPOINT_COLUMNS = {"pfs": ("pfs_months", "pfs_event"), "os": ("os_months", "os_event")}


def r_findq_median(event_times, surv, last_time, tol=np.sqrt(np.finfo(float).eps)):
    """R survival's print.survfit median (survmean's minmin), transcribed: the first time
    with y <= 0.5 + tol; if that y is 0.5 and the curve drops below it later, the mean of
    that time and the first lower one; a 0.5 plateau to the end gives its start."""
    x = np.concatenate([[0.0], event_times])
    y = np.concatenate([[0.0], 1 - np.asarray(surv)])
    if y.max() < 0.5:
        return None
    keep = np.concatenate([[True], np.diff(y) != 0])
    x, y = x[keep], y[keep]
    i1 = np.flatnonzero(y + tol >= 0.5)
    i2 = np.flatnonzero(y - tol >= 0.5)
    if i1.size == 0:
        return None
    if abs(0.5 - y[-1]) < tol:
        return x[i1[0]]
    return None if i2.size == 0 else (x[i1[0]] + x[i2[0]]) / 2


@pytest.fixture(scope="module")
def demo_results(demo_warehouse):
    con = duckdb.connect(str(demo_warehouse), read_only=True)
    patients = views.patients(con)
    con.close()
    return patients, run_comparisons(patients, COMPARISONS).table


def test_comparisons_cover_every_published_p_value(published):
    names = {c.name for c in COMPARISONS}
    assert set(published["p_values"]) <= names
    assert names == set(POPULATIONS)


def test_run_comparisons_gives_one_row_per_group_and_endpoint(demo_results):
    _, res = demo_results
    expected = sum(len(c.groups) for c in COMPARISONS) * 2
    assert len(res) == expected and list(res.columns) == comparisons.RESULT_COLUMNS
    refs = res[res["is_reference"]]
    assert (refs["hr"] == 1).all() and refs["hr_lower"].isna().all()
    assert set(res["transform"]) == {"log"} and set(res["strata"]) == {"center_id"}


def test_comparison_group_sizes_equal_published_line_and_regimen_counts(demo_results, published):
    _, res = demo_results
    n = res[res["endpoint"] == "pfs"].set_index(["comparison", "group_value"])["n"]
    lines = published["line_groups"]
    assert n[("le2_vs_later_lines", "<=2")] == lines["le2_lines"]["total"]
    assert n[("le2_vs_later_lines", "later")] == lines["later_lines"]["total"]
    assert n[("asps_le2_vs_later_lines", "<=2")] == lines["le2_lines"]["ASPS"]
    assert n[("non_asps_le2_vs_later_lines", "<=2")] == lines["le2_lines"]["non_ASPS"]
    assert n[("non_asps_le2_vs_later_lines", "later")] == lines["later_lines"]["non_ASPS"]
    assert n[("asps_combination_vs_monotherapy", "monotherapy")] == \
        published["regimens"]["monotherapy"]["ASPS"]
    total = published["table1_total"]["regimen"]
    assert n[("non_asps_regimens", "I+A")] == total["I+A"] - published["table1"]["ASPS"]["regimen"]["I+A"]
    assert n[("monotherapy_vs_combination", "monotherapy")] == total["I"]


@pytest.mark.parametrize("name", sorted(POPULATIONS))
def test_comparison_statistics_equal_direct_lifelines_and_statsmodels(demo_results, name):
    patients, res = demo_results
    comparison = next(c for c in COMPARISONS if c.name == name)
    values = list(comparison.groups)
    rows = patients[POPULATIONS[name](patients)]
    rows = rows[rows[comparison.by].isin(values)]
    for endpoint, (tc, ec) in ENDPOINT_COLUMNS.items():
        got = res[(res["comparison"] == name) & (res["endpoint"] == endpoint)]
        t, e = rows[tc].to_numpy(float), rows[ec].to_numpy(bool)
        g = rows[comparison.by].astype(str).to_numpy()
        lr = multivariate_logrank_test(t, g, e)
        assert math.isclose(got["chi2"].iloc[0], lr.test_statistic, rel_tol=1e-8)
        assert math.isclose(got["p"].iloc[0], lr.p_value, rel_tol=1e-8)
        strat_chi2, strat_p = survdiff(t, e.astype(int), g, strata=rows["center_id"].to_numpy())
        assert math.isclose(got["strat_chi2"].iloc[0], strat_chi2, rel_tol=1e-8)
        for value, row in zip(values, got.itertuples()):
            mine = g == str(value)
            assert row.n == mine.sum() and row.events == row.observed == e[mine].sum()
            sf = SurvfuncRight(t[mine], e[mine].astype(int))
            expected = r_findq_median(sf.surv_times, sf.surv_prob, t[mine].max())
            assert (np.isnan(row.median) if expected is None
                    else math.isclose(row.median, expected, rel_tol=1e-12)), (value, endpoint)
        assert got["observed"].sum() == pytest.approx(got["expected"].sum())


def test_run_comparisons_on_empty_selection_is_defined():
    columns = ["center_id", "is_asps", "histology_group", "therapy", "regimen_class",
               "line_group", "pfs_months", "pfs_event", "os_months", "os_event"]
    empty = pd.DataFrame({c: pd.Series(dtype=bool if c in ("is_asps", "pfs_event", "os_event")
                                       else object) for c in columns})
    res = run_comparisons(empty, COMPARISONS).table
    assert (res["n"] == 0).all() and res["p"].isna().all() and res["strat_p"].isna().all()
    assert res["median"].isna().all() and res["hr"][~res["is_reference"]].isna().all()


def test_comparison_with_a_group_of_one_is_defined(demo_results):
    patients, _ = demo_results
    non_asps = Population("non_asps", "non-ASPS", (Condition("is_asps", (False,)),))
    one = Comparison("non_asps_modality", "non-ASPS by modality", "therapy",
                     ("monotherapy", "combination"), non_asps, ("pfs", "os"))
    res = run_comparisons(patients, [one]).table
    mono = res[res["group_value"] == "monotherapy"]
    assert (mono["n"] == 1).all()
    rows = patients[~patients["is_asps"]]
    lr = multivariate_logrank_test(rows["pfs_months"], rows["therapy"], rows["pfs_event"])
    assert math.isclose(res["chi2"].iloc[0], lr.test_statistic, rel_tol=1e-8)
