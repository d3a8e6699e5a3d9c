"""Log-rank tests (plain, stratified) and Cox hazard ratios against lifelines and statsmodels."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from lifelines.datasets import load_lung, load_waltons
from lifelines.statistics import multivariate_logrank_test
from statsmodels.duration.hazard_regression import PHReg
from statsmodels.duration.survfunc import _survdiff, survdiff

from harmonise.analysis import cox, logrank


def _lung():
    lung = load_lung().dropna(subset=["inst", "ph.ecog"])
    return lung.assign(event=lung["status"] == 1, inst=lung["inst"].astype(int),
                       ecog=lung["ph.ecog"].astype(int))


LUNG = _lung()
WALTONS = load_waltons()

# (label, time, event, group) shared inputs: 2 groups, 4 groups incl. a group of one
# (ECOG 3), heavy ties (waltons)
CASES = {
    "lung_sex": (LUNG["time"], LUNG["event"], LUNG["sex"]),
    "lung_ecog": (LUNG["time"], LUNG["event"], LUNG["ecog"]),
    "waltons": (WALTONS["T"], WALTONS["E"] == 1, WALTONS["group"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_logrank_chi2_from_observed_expected_equals_lifelines(case):
    t, e, g = (np.asarray(x) for x in CASES[case])
    groups, n, obs, exp, var = logrank.observed_expected(t, e, g)
    stat, df, p = logrank.chi2_statistic(obs, exp, var, len(groups))
    ref = multivariate_logrank_test(t, g, e)
    assert math.isclose(stat, ref.test_statistic, rel_tol=1e-8)
    assert df == ref.degrees_of_freedom and math.isclose(p, ref.p_value, rel_tol=1e-8)
    result = logrank.logrank_test(t, e, g)
    assert math.isclose(result.chi2, ref.test_statistic, rel_tol=1e-12)


@pytest.mark.parametrize("case", sorted(CASES))
def test_logrank_observed_minus_expected_and_variance_match_statsmodels(case):
    # statsmodels' per-stratum kernel returns O - E and V for groups 2..k (group 1 dropped)
    t, e, g = (np.asarray(x) for x in CASES[case])
    groups, n, obs, exp, var = logrank.observed_expected(t, e, g)
    sm_oe, sm_var = _survdiff(t, e.astype(float), g, None, np.unique(g))
    np.testing.assert_allclose((obs - exp)[1:], sm_oe, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(var[1:, 1:], sm_var, rtol=1e-8, atol=1e-10)
    assert math.isclose(obs.sum(), exp.sum(), rel_tol=1e-12)
    np.testing.assert_array_equal(obs, [e[g == x].sum() for x in groups])
    np.testing.assert_array_equal(n, [(g == x).sum() for x in groups])


@pytest.mark.parametrize("case", ["lung_sex", "lung_ecog"])
def test_stratified_logrank_matches_statsmodels_survdiff_strata(case):
    # lung institutions: 18 strata, several holding one group only or a single patient
    t, e, g = (np.asarray(x) for x in CASES[case])
    strata = LUNG["inst"].to_numpy()
    got = logrank.stratified_logrank_test(t, e, g, strata)
    ref_chi2, ref_p = survdiff(t, e.astype(int), g, strata=strata)
    assert math.isclose(got.chi2, ref_chi2, rel_tol=1e-8)
    assert math.isclose(got.p, ref_p, rel_tol=1e-6, abs_tol=1e-12)
    assert got.stratified and got.df == len(np.unique(g)) - 1


def test_stratified_logrank_with_one_stratum_equals_lifelines():
    t, e, g = (np.asarray(x) for x in CASES["lung_ecog"])
    got = logrank.stratified_logrank_test(t, e, g, np.zeros(t.size))
    assert math.isclose(got.chi2, multivariate_logrank_test(t, g, e).test_statistic,
                        rel_tol=1e-8)


def test_stratified_logrank_center_without_patients_of_a_group():
    rng = np.random.default_rng(7)
    t = rng.exponential(10, 60).round(1)
    e = rng.random(60) < 0.7
    g = np.array(["A", "B"] * 30)
    center = np.array(["c1"] * 40 + ["c2"] * 20)
    g[center == "c2"] = "A"                      # center c2 has no patient in group B
    got = logrank.stratified_logrank_test(t, e, g, center, groups=("A", "B"))
    ref_chi2, _ = survdiff(t, e.astype(int), g, strata=center)
    assert math.isclose(got.chi2, ref_chi2, rel_tol=1e-8)
    # c2 adds nothing: the test equals the one on c1 alone
    only_c1 = logrank.logrank_test(t[center == "c1"], e[center == "c1"], g[center == "c1"])
    assert math.isclose(got.chi2, only_c1.chi2, rel_tol=1e-8)


def test_logrank_no_events_is_not_testable():
    for test in (lambda *a: logrank.logrank_test(*a),
                 lambda *a: logrank.stratified_logrank_test(*a, ["x", "y", "x", "y"])):
        res = test([1.0, 2, 3, 4], [False] * 4, ["a", "a", "b", "b"])
        assert np.isnan(res.chi2) and np.isnan(res.p) and res.df == 0
        assert list(res.observed) == [0, 0] and list(res.expected) == [0, 0]


def test_logrank_single_group_or_empty_selection_is_not_testable():
    one = logrank.logrank_test([1.0, 2, 3], [True, True, False], ["a"] * 3, groups=("a", "b"))
    assert np.isnan(one.chi2) and one.df == 0 and list(one.n) == [3, 0]
    empty = logrank.logrank_test([], [], [], groups=("a", "b"))
    assert np.isnan(empty.p) and list(empty.n) == [0, 0]
    assert list(empty.summary["group"]) == ["a", "b"]


def test_logrank_group_of_one_and_events_at_one_time_match_lifelines():
    t = np.array([5.0, 5, 5, 5, 5, 8])
    e = np.array([True, True, True, False, True, True])
    g = np.array(["a", "b", "a", "b", "a", "c"])        # "c" is a group of one
    res = logrank.logrank_test(t, e, g)
    ref = multivariate_logrank_test(t, g, e)
    assert math.isclose(res.chi2, ref.test_statistic, rel_tol=1e-8) and res.df == 2


def test_cox_stratified_hazard_ratio_matches_statsmodels_phreg():
    # Both maximise the stratified Efron partial likelihood; they differ only in the stopping
    # rule: lifelines stops, like R's coxph, once the log-likelihood changes by < 1e-9
    # (relative), statsmodels iterates to a gradient tolerance. Estimates agree to ~2e-6,
    # hence rtol 1e-5 (with fit_options={"precision": 1e-12} lifelines agrees to 1e-8).
    # (ECOG 3, a single patient, is left out: its HR has no finite maximum within strata)
    rows = LUNG[LUNG["ecog"] < 3]
    t, e, g = rows["time"].to_numpy(float), rows["event"].to_numpy(bool), rows["ecog"].to_numpy()
    got = cox.cox_hazard_ratios(t, e, g, reference=0, strata=rows["inst"].to_numpy())
    exog = np.column_stack([(g == k).astype(float) for k in (1, 2)])
    ref = PHReg(t, exog, status=e.astype(int), strata=rows["inst"].to_numpy(),
                ties="efron").fit()
    lo, hi = ref.conf_int().T
    np.testing.assert_allclose(np.log(got["hr"]), ref.params, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.log(got["hr_lower"]), lo, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.log(got["hr_upper"]), hi, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got["hr_p"], ref.pvalues, rtol=1e-4)
    assert list(got["group"]) == [1, 2] and set(got["reference"]) == {0}


def test_cox_unstratified_hazard_ratio_matches_statsmodels_phreg():
    t, e = WALTONS["T"].to_numpy(float), (WALTONS["E"] == 1).to_numpy()
    g = WALTONS["group"].to_numpy()
    got = cox.cox_hazard_ratios(t, e, g, reference="control")
    ref = PHReg(t, (g == "miR-137").astype(float)[:, None], status=e.astype(int),
                ties="efron").fit()
    assert math.isclose(math.log(got["hr"].iloc[0]), ref.params[0], rel_tol=1e-5)


@pytest.mark.parametrize("time, event, group, note", [
    ([1.0, 2, 3, 4], [True, True, False, False], ["a", "a", "b", "b"], "no event in the group"),
    ([1.0, 2, 3, 4], [False, False, True, True], ["a", "a", "b", "b"], "reference"),
    ([1.0, 2], [True, True], ["a", "a"], "no patient in the group"),
    ([], [], [], "reference"),
])
def test_cox_not_estimable_gives_nan_with_note(time, event, group, note):
    got = cox.cox_hazard_ratios(time, event, group, reference="a", groups=("a", "b"),
                                strata=["c"] * len(time))
    assert len(got) == 1 and np.isnan(got["hr"].iloc[0]) and note in got["note"].iloc[0]


def test_logrank_summary_frame_has_oe_per_group():
    t, e, g = (np.asarray(x) for x in CASES["lung_sex"])
    summ = logrank.logrank_test(t, e, g).summary
    assert list(summ.columns) == ["group", "n", "observed", "expected", "o_minus_e", "chi2",
                                  "df", "p", "stratified"]
    assert summ["o_minus_e"].sum() == pytest.approx(0, abs=1e-9)
    assert isinstance(summ, pd.DataFrame)
